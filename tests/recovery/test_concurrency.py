"""Two schedulers sending at once: every (cart, step) goes out exactly once."""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection

from carts.models import Cart
from recovery.models import RecoveryEmail
from recovery.sending import send_due_recovery_emails
from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory
from tests.helpers import run_together

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a real row-lock race (FOR UPDATE SKIP LOCKED between two connections) needs PostgreSQL; "
        "SQLite serialises every write transaction, so there is no race to test",
    ),
]

DELIVERED: list[tuple[str, str]] = []
DELIVERED_LOCK = threading.Lock()


class SlowRecordingBackend(BaseEmailBackend):
    """A backend that takes a little time per message (so the two senders overlap) and records what it got."""

    def send_messages(self, messages):
        for message in messages:
            time.sleep(0.002)
            with DELIVERED_LOCK:
                DELIVERED.append((message.to[0], message.extra_headers["X-Cart-Recovery"], message.subject))
        return len(messages)


def test_two_concurrent_senders_send_each_step_exactly_once_while_staff_edit_between_runs(settings, clock, campaign):
    settings.EMAIL_BACKEND = "tests.recovery.test_concurrency.SlowRecordingBackend"
    DELIVERED.clear()
    item = ItemFactory()
    carts = [make_cart(lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=clock.now()) for _ in range(60)]
    sent_by_scheduler: Counter = Counter()

    for seconds in (3600, 86_400):  # step 1, then step 2, each time by two schedulers at once
        if seconds == 86_400:  # between the runs, staff reword step 2
            step = campaign.steps.get(position=2)
            step.subject = "Still thinking it over?"
            step.save()
        now = clock.now() + timedelta(seconds=seconds)
        runs = run_together([lambda now=now: send_due_recovery_emails(now=now, batch_size=7)] * 2)
        for name, run in zip("ab", runs, strict=True):
            sent_by_scheduler[name] += run.sent

    counts = Counter((to, header) for to, header, _ in DELIVERED)
    assert len(counts) == 2 * len(carts)
    assert {subject for _, header, subject in DELIVERED if header.endswith("step=2")} == {"Still thinking it over?"}
    assert max(counts.values()) == 1
    assert sum(sent_by_scheduler.values()) == 2 * len(carts)  # the counts the two runs report add up too
    assert RecoveryEmail.objects.filter(status=RecoveryEmail.Status.SENT).count() == 2 * len(carts)
