"""The reminders' invariants, for ``manage.py check_integrity`` (core/integrity.py runs every app's RULES)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import F, QuerySet

from carts.models import Cart
from core.integrity import Rule

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
]
