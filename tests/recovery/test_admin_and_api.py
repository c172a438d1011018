"""Staff views of recovery emails: the admin (filters, resend action) and /api/recovery-emails/."""

import pytest
from django.test import Client

from carts.models import Cart
from recovery.models import RecoveryEmail
from tests.carts.factories import make_cart
from tests.helpers import client_for
from tests.recovery.factories import RecoveryEmailFactory
from tests.users.factories import StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("campaign")]


@pytest.fixture
def admin_browser() -> Client:
    client = Client()
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.fixture
def emails(item):
    cart = make_cart(lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at="2026-01-01T00:00:00Z")
    return {
        "sent": RecoveryEmailFactory(cart=cart, step=1, status=RecoveryEmail.Status.SENT),
        "failed": RecoveryEmailFactory(
            cart=cart, step=2, status=RecoveryEmail.Status.FAILED, attempts=5, last_error="SMTPServerDisconnected: <x>"
        ),
    }


def test_the_admin_lists_emails_with_their_error_and_filters_by_status_and_step(admin_browser, emails):
    page = admin_browser.get("/admin/recovery/recoveryemail/")
    assert page.status_code == 200
    assert "SMTPServerDisconnected: &lt;x&gt;" in page.content.decode()

    failed_only = admin_browser.get("/admin/recovery/recoveryemail/?status__exact=failed")
    assert list(failed_only.context["cl"].result_list) == [emails["failed"]]

    step_one = admin_browser.get("/admin/recovery/recoveryemail/?step__exact=1")
    assert list(step_one.context["cl"].result_list) == [emails["sent"]]


def test_the_admin_list_runs_a_bounded_number_of_queries(admin_browser, emails, item, django_assert_max_num_queries):
    for _ in range(20):
        cart = make_cart(lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at="2026-01-01T00:00:00Z")
        RecoveryEmailFactory(cart=cart)

    with django_assert_max_num_queries(15):
        assert admin_browser.get("/admin/recovery/recoveryemail/").status_code == 200


def test_the_resend_action_requeues_only_failed_emails(admin_browser, emails):
    response = admin_browser.post(
        "/admin/recovery/recoveryemail/",
        {"action": "resend_failed", "_selected_action": [emails["failed"].pk, emails["sent"].pk]},
        follow=True,
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "1 email(s) queued" in page
    assert f"Email #{emails['sent'].pk} will not be sent again: it is sent, not failed." in page
    emails["failed"].refresh_from_db()
    emails["sent"].refresh_from_db()
    assert emails["failed"].status == RecoveryEmail.Status.PENDING
    assert emails["failed"].next_attempt_at is not None
    assert emails["sent"].status == RecoveryEmail.Status.SENT


def test_staff_read_recovery_emails_through_the_api_with_filters(staff_client, emails):
    response = staff_client.get("/api/recovery-emails/", {"status": "failed"})

    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["id"] == emails["failed"].pk
    assert row["cart_id"] == emails["failed"].cart_id
    assert row["attempts"] == 5
    assert row["last_error"] == "SMTPServerDisconnected: <x>"

    by_step = staff_client.get("/api/recovery-emails/", {"step": 1}).json()["results"]
    assert [row["id"] for row in by_step] == [emails["sent"].pk]


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("shopper", 403)])
def test_only_staff_may_read_recovery_emails(who, expected, shopper, emails):
    client = client_for(shopper if who == "shopper" else None)

    assert client.get("/api/recovery-emails/").status_code == expected
    assert client.get(f"/api/recovery-emails/{emails['sent'].pk}/").status_code == expected


def test_the_api_is_read_only(staff_client, emails):
    assert staff_client.delete(f"/api/recovery-emails/{emails['sent'].pk}/").status_code == 405
    assert staff_client.post("/api/recovery-emails/", {}, format="json").status_code == 405


def test_a_bad_filter_value_is_a_400_not_a_500(staff_client):
    assert staff_client.get("/api/recovery-emails/", {"step": "abc"}).status_code == 400
