"""The webhooks' invariants, for ``manage.py check_integrity`` (core/integrity.py runs every app's RULES). The rules
that compare an event with the change it reports need the carts and live in carts/integrity.py and
recovery/integrity.py: this app reads neither."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from core.integrity import Rule

from .models import Attempt, Delivery, Event


def _events_of_unknown_type() -> QuerySet:
    return Event.objects.exclude(type__in=Event.Type.values).values("id", "type").order_by("id")


def _deliveries_without_their_event() -> QuerySet:
    return (
        Delivery.objects.filter(~Exists(Event.objects.filter(pk=OuterRef("event_id"))))
        .values("id", "event_id", "endpoint_id")
        .order_by("id")
    )


def _delivered_without_a_successful_attempt() -> QuerySet:
    answered_2xx = Attempt.objects.filter(delivery_id=OuterRef("pk"), status_code__gte=200, status_code__lt=300)
    return (
        Delivery.objects.filter(status=Delivery.Status.DELIVERED)
        .filter(~Exists(answered_2xx))
        .values("id", "webhook_id", "attempts")
        .order_by("id")
    )


def _deliveries_of_events_never_fanned_out() -> QuerySet:
    return (
        Delivery.objects.filter(Q(event__fanned_out_at__isnull=True))
        .values("id", "event_id", "endpoint_id")
        .order_by("id")
    )


RULES: list[Rule] = [
    Rule("webhook_event_type_known", "Every webhook event has a known type.", _events_of_unknown_type),
    Rule("webhook_delivery_has_event", "Every webhook delivery belongs to an event.", _deliveries_without_their_event),
    Rule(
        "webhook_delivery_of_fanned_out_event",
        "A webhook delivery exists only for an event already fanned out.",
        _deliveries_of_events_never_fanned_out,
    ),
    Rule(
        "webhook_delivered_has_2xx_attempt",
        "Every delivered webhook has an attempt the receiver answered with 2xx.",
        _delivered_without_a_successful_attempt,
    ),
]
