import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from carts.figures import rebuild_figures
from carts.models import AbandonmentLog, Cart
from catalog.models import Item
from recovery.figures import rebuild_step_figures
from users.models import User

# The newest moment in fixtures/demo.json; loading moves the demo to "five minutes after it" so that the report's
# default period (the last 30 days) shows the demo carts, whatever the day.
DEMO_ANCHOR = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
DEMO_STAFF_EMAIL = "staff@example.com"


class Command(BaseCommand):
    help = "First run only: load the demo fixtures (catalog, demo) moved to today, and create a demo staff login."

    def handle(self, **options):
        if Item.objects.exists():
            self.stdout.write("Demo data: the database already has items; fixtures not loaded again.")
        else:
            self._load_fixtures()
        self._ensure_staff()

    def _load_fixtures(self):
        with transaction.atomic():
            call_command("loaddata", "catalog", "demo", verbosity=0)
            delta = timezone.now() - timedelta(minutes=5) - DEMO_ANCHOR
            demo_carts = Cart.objects.filter(user__email__endswith="@example.com")
            for field in ("created_at", "last_updated", "abandoned_at", "recovered_at", "checked_out_at"):
                demo_carts.filter(**{f"{field}__isnull": False}).update(**{field: F(field) + delta})
            AbandonmentLog.objects.filter(cart__in=demo_carts).update(abandoned_at=F("abandoned_at") + delta)
            User.objects.filter(email__endswith="@example.com").update(date_joined=F("date_joined") + delta)
            # Fixtures are written row by row, not through the services that keep the report's figures.
            rebuild_figures()
            rebuild_step_figures()
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded: {Item.objects.count()} items, {Cart.objects.count()} carts.")
        )

    def _ensure_staff(self):
        login_file = Path(settings.BASE_DIR) / "var" / "demo-staff-login.txt"
        if User.objects.with_email(DEMO_STAFF_EMAIL).exists():
            self.stdout.write(
                f"Demo staff login: {DEMO_STAFF_EMAIL} (password printed on the first run, kept in {login_file})"
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(email=DEMO_STAFF_EMAIL, name="Demo Staff", password=password)
        login_file.parent.mkdir(exist_ok=True)
        login_file.write_text(f"email: {DEMO_STAFF_EMAIL}\npassword: {password}\n")
        login_file.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(f"Demo staff login (shown once): {DEMO_STAFF_EMAIL} / {password}"))
