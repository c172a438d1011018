"""The funnel per reminder step, kept up to date as emails are sent, clicked and their carts bought (``StepFigures``,
in the same 15-minute buckets as the carts' figures, of the email's ``sent_at``): the report sums rows instead of
scanning emails.

For each step and bucket: emails **sent**; of those, **clicked** (the recovery link used); **recovered**: carts
checked out whose shopper came back after this email, it being the last reminder sent before they came back, with
what they paid as **revenue**; **coupon cost**: the discounts given by the coupons of this step's emails. Every writer
adds its part in the transaction of its change; ``check_integrity`` compares the live rows with the emails;
``manage.py rebuild_report_figures`` rebuilds them.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet

from carts.figures import bucket_of
from carts.models import Cart, Coupon
from core.sql import upsert_increments

from .models import RecoveryEmail, StepFigures

COUNTERS = ("sent", "clicked", "recovered", "revenue", "coupon_cost")
MONEY = {"revenue", "coupon_cost"}
ZERO = Decimal("0.00")


def _empty() -> dict[str, int | Decimal]:
    return {name: ZERO if name in MONEY else 0 for name in COUNTERS}


class StepChanges:
    def __init__(self):
        self._rows: dict[tuple[int, int, str], dict] = defaultdict(_empty)

    def add(self, *, bucket: int, step: int, kind: str = "live", **counters) -> None:
        row = self._rows[(bucket, step, kind)]
        for name, amount in counters.items():
            row[name] += amount

    def apply(self) -> None:
        rows = [
            (bucket, step, kind, *(counters[name] for name in COUNTERS))
            for (bucket, step, kind), counters in self._rows.items()
            if any(counters.values())
        ]
        upsert_increments(StepFigures, keys=("bucket", "step", "kind"), counters=COUNTERS, rows=rows)
        self._rows.clear()


def record_sent(*, step: int, sent_at) -> None:
    changes = StepChanges()
    changes.add(bucket=bucket_of(sent_at), step=step, sent=1)
    changes.apply()


def record_clicked(*, email: RecoveryEmail) -> None:
    if email.sent_at is None:
        return  # a link of an email never recorded as sent (a test or preview) counts in no funnel
    changes = StepChanges()
    changes.add(bucket=bucket_of(email.sent_at), step=email.step, clicked=1)
    changes.apply()


def credited_email(*, cart: Cart) -> RecoveryEmail | None:
    """The reminder a recovered cart is credited to: the last one sent before the shopper came back."""
    if cart.recovered_at is None:
        return None
    return (
        RecoveryEmail.objects.filter(cart_id=cart.pk, status=RecoveryEmail.Status.SENT, sent_at__lte=cart.recovered_at)
        .order_by("-sent_at", "-step")
        .first()
    )


def _coupon_email(cart: Cart) -> RecoveryEmail | None:
    coupon = Coupon.objects.filter(redeemed_cart_id=cart.pk).first()
    if coupon is None:
        return None
    return RecoveryEmail.objects.filter(coupon=coupon, sent_at__isnull=False).first()


def on_cart_checked_out(sender, *, cart: Cart, before, **kwargs) -> None:
    """carts.signals.cart_checked_out: credit the step that brought the shopper back, and the coupon's cost to the
    step whose email offered it (same transaction as the checkout)."""
    if cart.abandoned_at is None:
        return
    changes = StepChanges()
    credited = credited_email(cart=cart)
    if credited is not None:
        changes.add(bucket=bucket_of(credited.sent_at), step=credited.step, recovered=1, revenue=cart.paid)
    if cart.discount:
        offered_by = _coupon_email(cart)
        if offered_by is not None:
            changes.add(bucket=bucket_of(offered_by.sent_at), step=offered_by.step, coupon_cost=cart.discount)
    changes.apply()


# --- computed from the emails (the reference: rebuild, integrity, the edges of a period, pruning) ---------------------


def figures_of_emails(emails: QuerySet[RecoveryEmail]) -> dict[tuple[int, int], dict[str, int | Decimal]]:
    """(bucket, step) → the funnel of ``emails`` (sent ones), computed from the emails and their carts."""
    found: dict[tuple[int, int], dict] = defaultdict(_empty)
    sent = list(
        emails.filter(status=RecoveryEmail.Status.SENT, sent_at__isnull=False).values_list(
            "pk", "cart_id", "step", "sent_at", "clicked_at", "coupon_id"
        )
    )
    for _, _, step, sent_at, clicked_at, _ in sent:
        row = found[(bucket_of(sent_at), step)]
        row["sent"] += 1
        row["clicked"] += clicked_at is not None
    cart_ids = {cart_id for _, cart_id, *_ in sent}
    bought = {
        cart_id: (recovered_at, paid, discount)
        for cart_id, recovered_at, paid, discount in Cart.objects.filter(
            pk__in=cart_ids, status=Cart.Status.CHECKED_OUT, abandoned_at__isnull=False, recovered_at__isnull=False
        ).values_list("pk", "recovered_at", "paid", "discount")
    }
    redeemed = dict(
        Coupon.objects.filter(
            pk__in={coupon for *_, coupon in sent if coupon}, redeemed_cart__isnull=False
        ).values_list("pk", "redeemed_cart_id")
    )
    last_before: dict[int, tuple] = {}
    for email in sent:
        _, cart_id, step, sent_at, _, _ = email
        if cart_id in bought and sent_at <= bought[cart_id][0]:
            best = last_before.get(cart_id)
            if best is None or (sent_at, step) > (best[3], best[2]):
                last_before[cart_id] = email
    for cart_id, (_, _, step, sent_at, _, _) in last_before.items():
        row = found[(bucket_of(sent_at), step)]
        row["recovered"] += 1
        row["revenue"] += bought[cart_id][1] or ZERO
    discounts = dict(Cart.objects.filter(pk__in=set(redeemed.values())).values_list("pk", "discount"))
    for _, _, step, sent_at, _, coupon in sent:
        if coupon in redeemed:
            found[(bucket_of(sent_at), step)]["coupon_cost"] += discounts.get(redeemed[coupon]) or ZERO
    return {key: row for key, row in found.items() if any(row.values())}


def live_step_figures() -> dict[tuple[int, int], dict[str, int | Decimal]]:
    return {
        (row["bucket"], row["step"]): {name: row[name] for name in COUNTERS}
        for row in StepFigures.objects.filter(kind="live").values("bucket", "step", *COUNTERS)
        if any(row[name] for name in COUNTERS)
    }


def rebuild_step_figures() -> int:
    with transaction.atomic():
        StepFigures.objects.filter(kind="live").delete()
        changes = StepChanges()
        for (bucket, step), counters in figures_of_emails(RecoveryEmail.objects.all()).items():
            changes.add(bucket=bucket, step=step, **counters)
        rows = len(changes._rows)
        changes.apply()
    return rows


def on_carts_pruning(sender, *, carts, **kwargs) -> None:
    """carts.signals.carts_pruning: the funnel of these carts' emails moves from the live rows to the pruned ones."""
    changes = StepChanges()
    for (bucket, step), counters in figures_of_emails(RecoveryEmail.objects.filter(cart__in=carts)).items():
        changes.add(bucket=bucket, step=step, kind="live", **{name: -amount for name, amount in counters.items()})
        changes.add(bucket=bucket, step=step, kind="pruned", **counters)
    changes.apply()
