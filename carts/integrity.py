"""The carts' invariants, for ``manage.py check_integrity`` (core/integrity.py runs every app's RULES)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from core.integrity import Rule
from webhooks.models import Event

from .figures import figures_by_bucket, live_figures
from .models import AbandonmentLog, Cart, CartItem, Coupon

# Totals are compared with half a cent of slack: SQLite keeps decimals as floating point, so a sum of prices may
# differ from the stored total in the last binary digit without anyone's money being wrong.
MONEY_TOLERANCE = Decimal("0.005")


def _users_with_several_open_carts() -> QuerySet:
    return (
        Cart.objects.filter(status__in=Cart.OPEN_STATUSES)
        .values("user_id")
        .annotate(open_carts=Count("id"))
        .filter(open_carts__gt=1)
        .order_by("user_id")
    )


def _abandoned_carts_without_log() -> QuerySet:
    has_log = Exists(AbandonmentLog.objects.filter(cart_id=OuterRef("pk")))
    return (
        Cart.objects.filter(Q(status=Cart.Status.ABANDONED) | Q(abandoned_at__isnull=False))
        .filter(~has_log)
        .values("id", "user_id", "status", "abandoned_at")
        .order_by("id")
    )


def _logs_of_carts_never_abandoned() -> QuerySet:
    return AbandonmentLog.objects.filter(cart__abandoned_at__isnull=True).values("id", "cart_id").order_by("id")


def _abandoned_empty_carts() -> QuerySet:
    has_lines = Exists(CartItem.objects.filter(cart_id=OuterRef("pk")))
    return (
        Cart.objects.filter(status=Cart.Status.ABANDONED)
        .filter(Q(item_count=0) | ~has_lines)
        .values("id", "user_id", "item_count")
        .order_by("id")
    )


def _carts_whose_totals_differ_from_their_lines() -> QuerySet:
    lines = CartItem.objects.filter(cart_id=OuterRef("pk")).order_by().values("cart_id")
    money = DecimalField(max_digits=20, decimal_places=2)
    units = Subquery(lines.annotate(units=Sum("quantity")).values("units"))
    amount = Subquery(lines.annotate(amount=Sum(F("quantity") * F("unit_price"), output_field=money)).values("amount"))
    return (
        Cart.objects.annotate(
            lines_units=Coalesce(units, Value(0)),
            lines_total=Coalesce(amount, Value(Decimal("0")), output_field=money),
        )
        .annotate(difference=F("total") - F("lines_total"))
        .filter(
            ~Q(item_count=F("lines_units")) | Q(difference__gt=MONEY_TOLERANCE) | Q(difference__lt=-MONEY_TOLERANCE)
        )
        .values("id", "item_count", "lines_units", "total", "lines_total")
        .order_by("id")
    )


def _figure_rows_that_differ_from_the_carts() -> list[dict]:
    """Report figure rows (live) whose counters differ from what the carts hold (carts/figures.py)."""
    expected, stored = figures_by_bucket(), live_figures()
    offenders = []
    for bucket, group in sorted(set(expected) | set(stored)):
        want, have = expected.get((bucket, group), {}), stored.get((bucket, group), {})
        for counter in sorted(set(want) | set(have)):
            if abs(Decimal(want.get(counter, 0)) - Decimal(have.get(counter, 0))) > MONEY_TOLERANCE:
                offenders.append(
                    {
                        "bucket": bucket,
                        "recovery_group": group,
                        "counter": counter,
                        "carts": want.get(counter, 0),
                        "figures": have.get(counter, 0),
                    }
                )
    return offenders


def _carts_paying_other_than_total_less_discount() -> QuerySet:
    return (
        Cart.objects.filter(status=Cart.Status.CHECKED_OUT)
        .exclude(paid=F("total") - F("discount"))
        .values("id", "total", "discount", "paid")
        .order_by("id")
    )


def _discounts_without_a_redeemed_coupon() -> QuerySet:
    return (
        Cart.objects.filter(discount__gt=0)
        .filter(~Exists(Coupon.objects.filter(redeemed_cart=OuterRef("pk"))))
        .values("id", "discount")
        .order_by("id")
    )


def _events_without_their_change(event_type: str, change: Q) -> QuerySet:
    """Events of ``event_type`` whose cart still exists but does not show the change (``change``, a Q on the cart
    that may compare with the event through OuterRef). Events of carts deleted by retention are not judged."""
    carts = Cart.objects.filter(pk=OuterRef("cart_id"))
    return (
        Event.objects.filter(type=event_type)
        .filter(Exists(carts), ~Exists(carts.filter(change)))
        .values("id", "type", "cart_id", "occurred_at")
        .order_by("id")
    )


def _abandoned_events_without_an_abandonment() -> QuerySet:
    # The sweep sets abandoned_at to the event's time; a later abandonment only moves it forward.
    return _events_without_their_change(Event.Type.CART_ABANDONED, Q(abandoned_at__gte=OuterRef("occurred_at")))


def _recovered_events_without_a_recovery() -> QuerySet:
    # recovered_at is the first return: at or before every cart.recovered event of the cart.
    return _events_without_their_change(Event.Type.CART_RECOVERED, Q(recovered_at__lte=OuterRef("occurred_at")))


def _checked_out_events_without_a_checkout() -> QuerySet:
    return _events_without_their_change(
        Event.Type.CART_CHECKED_OUT, Q(status=Cart.Status.CHECKED_OUT, checked_out_at=OuterRef("occurred_at"))
    )


RULES: list[Rule] = [
    Rule("one_open_cart_per_user", "A user has at most one active or abandoned cart.", _users_with_several_open_carts),
    Rule(
        "abandoned_cart_has_log",
        "Every cart that is or was abandoned has its abandonment log.",
        _abandoned_carts_without_log,
    ),
    Rule(
        "log_belongs_to_an_abandoned_cart",
        "An abandonment log exists only for a cart that was abandoned (abandoned_at set).",
        _logs_of_carts_never_abandoned,
    ),
    Rule("no_abandoned_empty_cart", "No abandoned cart is empty.", _abandoned_empty_carts),
    Rule(
        "cart_totals_match_lines",
        "A cart's item_count and total equal the sums of its lines.",
        _carts_whose_totals_differ_from_their_lines,
    ),
    Rule(
        "checked_out_cart_paid_total_less_discount",
        "A checked-out cart paid its total less its discount.",
        _carts_paying_other_than_total_less_discount,
    ),
    Rule(
        "discount_has_its_coupon",
        "A cart with a discount redeemed a coupon.",
        _discounts_without_a_redeemed_coupon,
    ),
    Rule(
        "report_figures_match_carts",
        "The report's figure rows hold what the carts hold (manage.py rebuild_report_figures rebuilds them).",
        _figure_rows_that_differ_from_the_carts,
    ),
    Rule(
        "abandoned_event_has_its_abandonment",
        "Every cart.abandoned webhook event's cart (while it exists) was abandoned then (abandoned_at set).",
        _abandoned_events_without_an_abandonment,
    ),
    Rule(
        "recovered_event_has_its_recovery",
        "Every cart.recovered webhook event's cart (while it exists) has come back (recovered_at set by then).",
        _recovered_events_without_a_recovery,
    ),
    Rule(
        "checked_out_event_has_its_checkout",
        "Every cart.checked_out webhook event's cart (while it exists) was checked out at that moment.",
        _checked_out_events_without_a_checkout,
    ),
]
