"""The demo of `make run`: the fixtures and setup_demo."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from carts.models import AbandonmentLog, Cart
from catalog.models import Item
from users.models import User

pytestmark = pytest.mark.django_db


def test_demo_fixtures_load_into_a_fresh_database_with_carts_in_every_state():
    call_command("loaddata", "catalog", "demo", verbosity=0)

    assert Item.objects.count() == 12
    assert set(Cart.objects.values_list("status", flat=True)) == {"active", "abandoned", "checked_out"}
    assert AbandonmentLog.objects.count() == Cart.objects.filter(abandoned_at__isnull=False).count()
    for cart in Cart.objects.prefetch_related("lines"):
        assert cart.item_count == sum(line.quantity for line in cart.lines.all())
        assert cart.total == sum(line.line_total for line in cart.lines.all())


def test_setup_demo_loads_once_moves_the_demo_to_today_and_prints_the_staff_login_once(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    first, second = StringIO(), StringIO()

    call_command("setup_demo", stdout=first)
    carts_after_first = Cart.objects.count()
    call_command("setup_demo", stdout=second)

    assert Cart.objects.count() == carts_after_first
    newest = Cart.objects.order_by("-last_updated").first().last_updated
    assert timezone.now() - newest < timezone.timedelta(minutes=10)
    password = (tmp_path / "var" / "demo-staff-login.txt").read_text().split("password: ")[1].strip()
    assert password in first.getvalue()
    assert password not in second.getvalue()
    staff = User.objects.get(email="staff@example.com")
    assert staff.is_staff
    assert staff.check_password(password)
