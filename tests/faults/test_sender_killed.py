"""Fault: the reminder sender is killed (SIGKILL) in the middle of a batch. What went out is recorded as sent; the
next run retries the rest; nothing is sent twice (issue: "reminders that survive a crash in order")."""

import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from carts.models import Cart
from recovery.models import RecoveryEmail
from recovery.sending import STUCK_ERROR, STUCK_SENDING_AFTER, send_due_recovery_emails
from tests.carts.factories import make_cart
from tests.helpers import PROJECT_DIR, child_process_env
from tests.recovery.backends import delivered

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.usefixtures("campaign")]

CARTS = 40


def test_a_sender_killed_mid_batch_records_what_went_out_and_the_next_run_sends_the_rest_once(
    item, tmp_path, settings, monkeypatch
):
    # Given 40 carts whose first reminder is due, and a mail server that takes a moment per message
    abandoned_at = timezone.now() - timedelta(hours=2)
    carts = [
        make_cart(lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=abandoned_at) for _ in range(CARTS)
    ]
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    env = child_process_env(
        DJANGO_DEBUG="1",
        EMAIL_BACKEND="tests.recovery.backends.SlowFileOutbox",
        CART_TEST_OUTBOX_DIR=str(outbox),
        DJANGO_LOG_LEVEL="WARNING",
    )
    sender = subprocess.Popen(
        [sys.executable, "manage.py", "send_recovery_emails"], cwd=PROJECT_DIR, env=env, stderr=subprocess.PIPE
    )

    # When it is killed once ten messages went out, far from the end of its batch of 200
    try:
        deadline = time.monotonic() + 60
        while len(delivered(outbox)) < 10:
            assert sender.poll() is None, sender.communicate()
            assert time.monotonic() < deadline, "the sender never sent ten messages"
            time.sleep(0.01)
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=30)
    finally:
        if sender.poll() is None:
            sender.kill()

    # Then every message the server received is recorded as sent, but at most the one being handed over
    first_run = set(delivered(outbox))
    rows = {email.cart_id: email for email in RecoveryEmail.objects.filter(step=1)}
    assert len(rows) == CARTS
    unrecorded = [cart_id for cart_id, _ in first_run if rows[cart_id].status != RecoveryEmail.Status.SENT]
    assert len(unrecorded) <= 1
    assert all(rows[cart_id].status == RecoveryEmail.Status.SENDING for cart_id in unrecorded)
    assert len(delivered(outbox)) == len(first_run)  # nothing twice so far
    assert {email.status for email in rows.values()} <= {"sent", "sending"}

    # When the next run comes after the stuck timeout
    monkeypatch.setenv("CART_TEST_OUTBOX_DIR", str(outbox))
    monkeypatch.setenv("CART_TEST_OUTBOX_DELAY", "0")
    settings.EMAIL_BACKEND = "tests.recovery.backends.SlowFileOutbox"
    later = timezone.now() + STUCK_SENDING_AFTER + timedelta(minutes=1)
    result = send_due_recovery_emails(now=later)

    # Then the one that may have gone out is failed (not resent), the never-tried ones are sent, each once
    deliveries = delivered(outbox)
    assert len(deliveries) == len(set(deliveries)) == CARTS
    rows = {email.cart_id: email for email in RecoveryEmail.objects.filter(step=1)}
    in_flight = [email for email in rows.values() if email.status == RecoveryEmail.Status.FAILED]
    assert len(in_flight) == result.stuck <= 1
    assert all(email.last_error == STUCK_ERROR for email in in_flight)
    assert {cart.pk for cart in carts} == {cart_id for cart_id, _ in deliveries}
    assert all(email.status == RecoveryEmail.Status.SENT for email in rows.values() if email not in in_flight)
    assert result.requeued == result.sent
