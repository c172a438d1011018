"""The operator's commands of the contract: fixtures, the demo setup of `make run`, createsuperuser from env."""

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from carts.models import AbandonmentLog, Cart
from catalog.models import Item
from tests.conftest import client_for
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


def test_createsuperuser_noinput_reads_email_name_and_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "owner@shop.example")
    monkeypatch.setenv("DJANGO_SUPERUSER_NAME", "Shop Owner")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long enough passphrase")

    call_command("createsuperuser", "--noinput", stdout=StringIO())

    owner = User.objects.get(email="owner@shop.example")
    assert (owner.name, owner.is_staff, owner.is_superuser) == ("Shop Owner", True, True)
    assert owner.check_password("a long enough passphrase")


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_api_docs_are_served_without_any_cdn(client, staff, path):
    client.force_login(staff)

    page = client.get(path).content.decode()

    assert "/static/drf_spectacular_sidecar/" in page
    # Every script, style sheet, font and image comes from this server: no address names another host. (Not a
    # search for "cdn" in the page: the page's random CSRF token spells it now and then.)
    assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page, flags=re.IGNORECASE) == []
    assert "googleapis" not in page
    assert "gstatic" not in page
    assert client.get("/api/schema/").status_code == 200


def test_the_schema_is_what_the_fuzz_tests_read(shopper):
    from tests.test_schema_fuzz import _served_schema

    # (Staff read a richer item resource, with is_active and created_at: the schema follows the caller.)
    served = client_for(shopper).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert served.status_code == 200
    assert json.loads(served.content) == _served_schema()


def test_the_schema_wants_a_token_and_the_docs_a_staff_login(client, shopper):
    # The contract: anonymous clients may register, list items and use a recovery link; nothing else.
    assert client.get("/api/schema/").status_code == 401
    for path in ("/api/docs/", "/api/redoc/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert client_for(shopper).get("/api/schema/").status_code == 200  # a storefront developer's token
