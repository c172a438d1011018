"""The outbox stays bounded: events past CART_WEBHOOKS_RETENTION_DAYS go once every delivery of theirs finished."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from scheduler import jobs
from tests.webhooks.factories import DeliveryFactory, EventFactory
from webhooks.models import Attempt, Delivery, Event
from webhooks.retention import prune_webhook_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_and_new(clock, settings):
    settings.CART_WEBHOOKS_RETENTION_DAYS = 30
    old = clock.now() - timedelta(days=30, seconds=1)
    recent = clock.now() - timedelta(days=29)

    def event(occurred_at, *statuses, fanned_out=True):
        made = EventFactory(occurred_at=occurred_at, fanned_out_at=occurred_at if fanned_out else None)
        for status in statuses:
            delivery = DeliveryFactory(
                event=made,
                status=status,
                next_attempt_at=None if status != "pending" else occurred_at,
                delivered_at=occurred_at if status == "delivered" else None,
            )
            Attempt.objects.create(delivery=delivery, attempted_at=occurred_at, status_code=200, latency_ms=5)
        return made

    return {
        "old, delivered and failed": event(old, "delivered", "failed"),
        "old, nobody subscribed": event(old),
        "old, one still pending": event(old, "delivered", "pending"),
        "old, not fanned out yet": event(old, fanned_out=False),
        "recent, delivered": event(recent, "delivered"),
    }


def test_old_events_whose_deliveries_finished_are_deleted_with_their_deliveries_and_attempts(old_and_new, clock):
    result = prune_webhook_events(now=clock.now(), batch_size=1)

    kept = set(Event.objects.values_list("pk", flat=True))
    assert result.events == 2
    assert kept == {
        old_and_new[name].pk for name in ("old, one still pending", "old, not fanned out yet", "recent, delivered")
    }
    assert set(Delivery.objects.values_list("event_id", flat=True)) <= kept
    assert Attempt.objects.count() == Delivery.objects.count() == 3


def test_a_dry_run_only_counts(old_and_new, clock):
    assert prune_webhook_events(now=clock.now(), dry_run=True).events == 2
    assert Event.objects.count() == 5


def test_the_command_counts_unless_told_to_execute_and_the_daily_job_deletes(old_and_new, capsys):
    call_command("prune_webhook_events")
    assert "would delete 2 webhook events older than 30 days" in capsys.readouterr().out
    assert Event.objects.count() == 5

    jobs.prune_webhook_events_job.__wrapped__()

    assert Event.objects.count() == 3
