"""The recovery emails' webhook events, written in the transaction that changes the emails (webhooks/outbox.py):
each is the email's cart as it is at that moment, with the email's step."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce

from webhooks import outbox

EMAIL_EVENT_COLUMNS = {
    "cart_id": F("cart_id"),
    "user_id": F("cart__user_id"),
    "email": Coalesce(F("cart__user__email"), Value("")),
    "status": F("cart__status"),
    "item_count": F("cart__item_count"),
    "total": F("cart__total"),
    "step": F("step"),
}


def record_email_events(*, event_type: str, occurred_at: datetime, emails: QuerySet) -> int:
    """One event per email of ``emails`` (a RecoveryEmail queryset), set-based; returns how many were written."""
    return outbox.record_events(type=event_type, occurred_at=occurred_at, rows=emails, columns=EMAIL_EVENT_COLUMNS)
