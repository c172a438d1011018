"""manage.py send_recovery_emails: the cron alternative to the scheduler's emails job."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from carts.models import Cart
from recovery.models import RecoveryEmail
from tests.carts.factories import make_cart

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("campaign")]


@pytest.fixture
def due_cart(item, settings):
    return make_cart(
        lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=timezone.now() - timedelta(seconds=3700)
    )


def run(*args) -> str:
    out = StringIO()
    call_command("send_recovery_emails", *args, stdout=out)
    return out.getvalue()


def test_a_dry_run_says_what_is_due_and_sends_and_writes_nothing(due_cart):
    output = run("--dry-run")

    assert "1 reminders would be planned (step 1: 1, step 2: 0)" in output
    assert mail.outbox == []
    assert not RecoveryEmail.objects.exists()


def test_a_run_sends_what_is_due_once(due_cart):
    first = run()
    second = run()

    assert first.startswith("1 sent, 0 to retry")
    assert second.startswith("0 sent")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [due_cart.user.email]
    assert RecoveryEmail.objects.get(cart=due_cart).status == RecoveryEmail.Status.SENT


def test_a_dry_run_counts_planned_reminders_waiting_to_be_tried(due_cart):
    RecoveryEmail.objects.create(
        cart=due_cart, step=1, planned_at=timezone.now(), next_attempt_at=timezone.now() - timedelta(minutes=1)
    )

    output = run("--dry-run")

    assert "0 reminders would be planned" in output
    assert "1 already planned are due to be tried" in output
    assert RecoveryEmail.objects.get().status == RecoveryEmail.Status.PENDING
