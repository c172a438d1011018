"""The reminders' invariants, for ``manage.py check_integrity`` (core/integrity.py runs every app's RULES)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from carts.models import Cart
from core.integrity import Rule
from webhooks.models import Event

from .figures import figures_of_emails, live_step_figures
from .models import RecoveryEmail


def _reminders_sent_to_holdout_carts() -> QuerySet:
    return (
        RecoveryEmail.objects.filter(cart__recovery_group=Cart.RecoveryGroup.HOLDOUT, status=RecoveryEmail.Status.SENT)
        .values("id", "cart_id", "step", "sent_at")
        .order_by("id")
    )


def _coupons_of_another_cart() -> QuerySet:
    return (
        RecoveryEmail.objects.filter(coupon__isnull=False)
        .exclude(coupon__cart_id=F("cart_id"))
        .values("id", "cart_id", "coupon_id")
        .order_by("id")
    )


def _step_rows_that_differ_from_the_emails() -> list[dict]:
    expected = figures_of_emails(RecoveryEmail.objects.all())
    stored = live_step_figures()
    offenders = []
    for bucket, step in sorted(set(expected) | set(stored)):
        want, have = expected.get((bucket, step), {}), stored.get((bucket, step), {})
        for counter in sorted(set(want) | set(have)):
            if abs(Decimal(want.get(counter, 0)) - Decimal(have.get(counter, 0))) > Decimal("0.005"):
                offenders.append(
                    {
                        "bucket": bucket,
                        "step": step,
                        "counter": counter,
                        "emails": want.get(counter, 0),
                        "figures": have.get(counter, 0),
                    }
                )
    return offenders


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
        "holdout_carts_get_no_reminders",
        "No reminder was sent for a cart in the holdout group.",
        _reminders_sent_to_holdout_carts,
    ),
    Rule(
        "coupon_belongs_to_the_emails_cart",
        "A reminder's coupon was issued for its own cart.",
        _coupons_of_another_cart,
    ),
    Rule(
        "step_figures_match_emails",
        "The funnel's figure rows hold what the emails hold (manage.py rebuild_report_figures rebuilds them).",
        _step_rows_that_differ_from_the_emails,
    ),
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
