"""The recovery emails' invariants, for ``manage.py check_integrity`` (core/integrity.py runs every app's RULES):
each email event in the webhooks outbox has its change."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from carts.models import Cart
from core.integrity import Rule
from webhooks.models import Event

from .models import RecoveryEmail


def _email_events_without_their_change(event_type: str, change: Q) -> QuerySet:
    """Events of ``event_type`` whose cart still exists but whose email (the cart's row for the event's step) does
    not show ``change``. Events of carts deleted by retention are not judged."""
    emails = RecoveryEmail.objects.filter(cart_id=OuterRef("cart_id"), step=OuterRef("step"))
    return (
        Event.objects.filter(type=event_type)
        .filter(Exists(Cart.objects.filter(pk=OuterRef("cart_id"))), ~Exists(emails.filter(change)))
        .values("id", "type", "cart_id", "step", "occurred_at")
        .order_by("id")
    )


def _sent_events_without_a_sent_email() -> QuerySet:
    return _email_events_without_their_change(
        Event.Type.RECOVERY_EMAIL_SENT, Q(status=RecoveryEmail.Status.SENT, sent_at=OuterRef("occurred_at"))
    )


def _clicked_events_without_a_click() -> QuerySet:
    return _email_events_without_their_change(Event.Type.RECOVERY_EMAIL_CLICKED, Q(clicked_at=OuterRef("occurred_at")))


RULES: list[Rule] = [
    Rule(
        "sent_event_has_its_email",
        "Every recovery_email.sent webhook event's email (while its cart exists) was sent at that moment.",
        _sent_events_without_a_sent_email,
    ),
    Rule(
        "clicked_event_has_its_click",
        "Every recovery_email.clicked webhook event's email (while its cart exists) was first clicked then.",
        _clicked_events_without_a_click,
    ),
]
