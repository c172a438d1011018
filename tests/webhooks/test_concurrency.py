"""Two schedulers delivering at once: every attempt is made by one of them, so each delivery reaches the receiver
once (the emails' concurrency test, tests/recovery/test_concurrency.py, for webhooks)."""

import time
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from tests.helpers import run_together
from tests.webhooks.factories import EndpointFactory, EventFactory
from tests.webhooks.receivers import answer
from webhooks.delivery import deliver_due_webhooks, fan_out_events
from webhooks.models import Attempt, Delivery

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a real row-lock race (FOR UPDATE SKIP LOCKED between two connections) needs PostgreSQL; "
        "SQLite serialises every write transaction, so there is no race to test",
    ),
]


def test_two_schedulers_at_once_make_each_attempt_once(settings, start_receiver):
    settings.CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True

    def slow_ok(handler, request):
        time.sleep(0.005)  # long enough for the two schedulers to overlap
        answer(handler, status=204)

    receiver = start_receiver(slow_ok)
    endpoints = [EndpointFactory(url=receiver.url(f"/{n}")) for n in range(2)]
    for _ in range(30):
        EventFactory()
    now = timezone.now()
    fan_out_events(now=now)  # the deliveries exist, so both schedulers go straight to claiming them

    runs = run_together([lambda: deliver_due_webhooks(now=now, batch_size=4)] * 2)

    received = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert len(received) == 30 * len(endpoints)
    assert max(received.values()) == 1
    assert set(received) == set(Delivery.objects.values_list("webhook_id", flat=True))
    assert sum(run.delivered for run in runs) == 60
    assert all(run.delivered for run in runs)  # both took part
    assert Attempt.objects.count() == 60
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_two_fan_outs_at_once_create_each_delivery_once():
    endpoints = EndpointFactory.create_batch(2)
    for _ in range(300):
        EventFactory()
    now = timezone.now()

    runs = run_together([lambda: fan_out_events(now=now, batch_size=25)] * 2)

    assert sum(events for events, _ in runs) == 300
    assert Delivery.objects.count() == 300 * len(endpoints)
    assert len(set(Delivery.objects.values_list("webhook_id", flat=True))) == 600
