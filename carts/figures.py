"""The report's figures, kept up to date as carts change, so the report reads a few thousand rows whatever the
number of carts (``CartFigures``, in 15-minute buckets of UTC time: every time zone's midnight falls on a bucket's
edge, so any shop's days are whole buckets).

A cart *contributes* to one row of its bucket: the bucket of ``abandoned_at`` if it was ever abandoned (counted as
abandoned, and by its state now: still abandoned with its total "left", came back and open, or recovered with what
it paid), or, for a cart checked out without ever being abandoned, the bucket of ``checked_out_at``. Every service
that changes what a cart contributes takes the cart's state before and after the change and applies the difference
in the same transaction (:class:`FigureChanges`); the sweep does the same set-based, one statement per batch.
Retention moves a deleted cart's contribution from the ``live`` rows to the ``pruned`` ones, so past figures stay
exact. ``check_integrity`` compares the live rows with the carts; ``manage.py rebuild_report_figures`` rebuilds them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, DecimalField, F, Func, IntegerField, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from core.sql import upsert_increments

from .models import Cart, CartFigures

BUCKET_SECONDS = 900
COUNTERS = (
    "abandoned",
    "still_abandoned",
    "revenue_left",
    "came_back",
    "recovered",
    "recovered_revenue",
    "recovered_discount",
    "via_email",
    "via_email_revenue",
    "bought_unabandoned",
)
MONEY_COUNTERS = {"revenue_left", "recovered_revenue", "recovered_discount", "via_email_revenue"}
ZERO = Decimal("0.00")


def bucket_of(moment: datetime) -> int:
    return int(moment.timestamp()) // BUCKET_SECONDS


def bucket_start(bucket: int) -> datetime:
    return datetime.fromtimestamp(bucket * BUCKET_SECONDS, tz=UTC)


@dataclass(frozen=True)
class CartState:
    """What of a cart the figures depend on."""

    abandoned_at: datetime | None
    checked_out_at: datetime | None
    status: str
    recovery_group: str
    recovery_source: str
    total: Decimal
    paid: Decimal | None
    discount: Decimal

    @classmethod
    def of(cls, cart: Cart) -> CartState:
        return cls(
            abandoned_at=cart.abandoned_at,
            checked_out_at=cart.checked_out_at,
            status=cart.status,
            recovery_group=cart.recovery_group,
            recovery_source=cart.recovery_source,
            total=cart.total,
            paid=cart.paid,
            discount=cart.discount,
        )


def contribution(state: CartState) -> tuple[tuple[int, str], dict[str, int | Decimal]] | None:
    """The row a cart in ``state`` counts in, and what it adds there (None: it counts nowhere)."""
    if state.abandoned_at is not None:
        added: dict[str, int | Decimal] = {"abandoned": 1}
        if state.status == Cart.Status.ABANDONED:
            added.update(still_abandoned=1, revenue_left=state.total)
        elif state.status == Cart.Status.ACTIVE:
            added.update(came_back=1)
        else:
            paid = state.paid if state.paid is not None else state.total
            added.update(recovered=1, recovered_revenue=paid, recovered_discount=state.discount)
            if state.recovery_source == Cart.RecoverySource.EMAIL_LINK:
                added.update(via_email=1, via_email_revenue=paid)
        return (bucket_of(state.abandoned_at), state.recovery_group), added
    if state.status == Cart.Status.CHECKED_OUT and state.checked_out_at is not None:
        return (bucket_of(state.checked_out_at), ""), {"bought_unabandoned": 1}
    return None


class FigureChanges:
    """Differences to the figures, gathered, then written in one statement (inside the caller's transaction)."""

    def __init__(self):
        self._rows: dict[tuple[int, str, str], dict[str, int | Decimal]] = defaultdict(dict)

    def add(self, state: CartState | None, *, sign: int = 1, kind: str = CartFigures.Kind.LIVE) -> None:
        found = contribution(state) if state is not None else None
        if found is None:
            return
        (bucket, group), added = found
        row = self._rows[(bucket, group, kind)]
        for counter, amount in added.items():
            row[counter] = row.get(counter, 0) + sign * amount

    def change(self, before: CartState | None, after: CartState | None) -> None:
        self.add(before, sign=-1)
        self.add(after, sign=1)

    def add_counts(self, *, bucket: int, group: str, kind: str = CartFigures.Kind.LIVE, **counters) -> None:
        row = self._rows[(bucket, group, kind)]
        for counter, amount in counters.items():
            row[counter] = row.get(counter, 0) + amount

    def apply(self) -> None:
        rows = []
        for (bucket, group, kind), counters in self._rows.items():
            if not any(counters.values()):
                continue
            rows.append(
                (
                    bucket,
                    group,
                    kind,
                    *(
                        Decimal(counters.get(name, 0)).quantize(Decimal("0.01"))
                        if name in MONEY_COUNTERS
                        else int(counters.get(name, 0))
                        for name in COUNTERS
                    ),
                )
            )
        upsert_increments(CartFigures, keys=("bucket", "recovery_group", "kind"), counters=COUNTERS, rows=rows)
        self._rows.clear()


def record_cart_change(before: CartState | None, cart: Cart) -> None:
    """Apply the difference a service made to one cart (``before``: its state when the service locked it)."""
    changes = FigureChanges()
    changes.change(before, CartState.of(cart))
    changes.apply()


# --- computed from the carts (the reference: rebuild, integrity, and the partial edges of a period) -----------------


class Bucket(Func):
    """The 15-minute bucket of a date-time column, in SQL (PostgreSQL and SQLite)."""

    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"FLOOR(EXTRACT(EPOCH FROM {sql}) / {BUCKET_SECONDS})::bigint", params

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(CAST(strftime('%%s', {sql}) AS INTEGER) / {BUCKET_SECONDS})", params


_MONEY = DecimalField(max_digits=18, decimal_places=2)
_PAID = Coalesce(F("paid"), F("total"), output_field=_MONEY)
_ABANDONED_AGGREGATES = {
    "abandoned": Count("pk"),
    "still_abandoned": Count("pk", filter=Q(status=Cart.Status.ABANDONED)),
    "revenue_left": Sum("total", filter=Q(status=Cart.Status.ABANDONED), output_field=_MONEY),
    "came_back": Count("pk", filter=Q(status=Cart.Status.ACTIVE)),
    "recovered": Count("pk", filter=Q(status=Cart.Status.CHECKED_OUT)),
    "recovered_revenue": Sum(_PAID, filter=Q(status=Cart.Status.CHECKED_OUT), output_field=_MONEY),
    "recovered_discount": Sum("discount", filter=Q(status=Cart.Status.CHECKED_OUT), output_field=_MONEY),
    "via_email": Count("pk", filter=Q(status=Cart.Status.CHECKED_OUT, recovery_source=Cart.RecoverySource.EMAIL_LINK)),
    "via_email_revenue": Sum(
        _PAID,
        filter=Q(status=Cart.Status.CHECKED_OUT, recovery_source=Cart.RecoverySource.EMAIL_LINK),
        output_field=_MONEY,
    ),
}


def _clean(row: dict) -> dict[str, int | Decimal]:
    return {name: (row.get(name) or ZERO) if name in MONEY_COUNTERS else (row.get(name) or 0) for name in COUNTERS}


def figures_by_bucket(carts: QuerySet[Cart] | None = None) -> dict[tuple[int, str], dict[str, int | Decimal]]:
    """What the live rows should hold for ``carts`` (all carts by default), computed from the carts themselves."""
    carts = Cart.objects.all() if carts is None else carts
    found: dict[tuple[int, str], dict] = {}
    abandoned = (
        carts.filter(abandoned_at__isnull=False)
        .annotate(b=Bucket("abandoned_at"))
        .values("b", "recovery_group")
        .annotate(**_ABANDONED_AGGREGATES)
        .order_by()
    )
    for row in abandoned:
        found[(row["b"], row["recovery_group"])] = _clean(row)
    bought = (
        carts.filter(abandoned_at__isnull=True, status=Cart.Status.CHECKED_OUT)
        .annotate(b=Bucket("checked_out_at"))
        .values("b")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in bought:
        key = (row["b"], "")
        found.setdefault(key, _clean({}))["bought_unabandoned"] = row["n"]
    return found


def add_up(rows) -> dict[str, int | Decimal]:
    """Counter by counter, the sum of figure rows (dicts)."""
    total = _clean({})
    for row in rows:
        for name in COUNTERS:
            total[name] += row.get(name) or 0
    return total


def figures_of_carts(*, abandoned: QuerySet[Cart], bought: QuerySet[Cart]) -> dict[str, dict[str, int | Decimal]]:
    """Totals per recovery group straight from the carts: ``abandoned`` (carts ever abandoned) and ``bought``
    (checked out, never abandoned; counted under ""). For the minutes at the edges of a period that do not fill a
    bucket."""
    totals: dict[str, dict] = {}
    rows = (
        abandoned.filter(abandoned_at__isnull=False)
        .values("recovery_group")
        .annotate(**_ABANDONED_AGGREGATES)
        .order_by()
    )
    for row in rows:
        totals[row["recovery_group"]] = _clean(row)
    count = bought.filter(abandoned_at__isnull=True, status=Cart.Status.CHECKED_OUT).count()
    if count:
        totals.setdefault("", _clean({}))["bought_unabandoned"] += count
    return totals


def rebuild_figures() -> int:
    """Replace the live rows by what the carts hold now (the pruned rows stay). Returns the rows written."""
    with transaction.atomic():
        CartFigures.objects.filter(kind=CartFigures.Kind.LIVE).delete()
        changes = FigureChanges()
        for (bucket, group), counters in figures_by_bucket().items():
            changes.add_counts(bucket=bucket, group=group, **counters)
        rows = len(changes._rows)
        changes.apply()
    return rows


def live_figures() -> dict[tuple[int, str], dict[str, int | Decimal]]:
    """The live rows as they are, for comparing with :func:`figures_by_bucket`."""
    return {
        (row["bucket"], row["recovery_group"]): _clean(row)
        for row in CartFigures.objects.filter(kind=CartFigures.Kind.LIVE).values("bucket", "recovery_group", *COUNTERS)
        if any(row[name] for name in COUNTERS)
    }


def pruned(carts: QuerySet[Cart]) -> None:
    """Before ``carts`` are deleted by retention: move their contribution from the live rows to the pruned ones."""
    changes = FigureChanges()
    for (bucket, group), counters in figures_by_bucket(carts).items():
        changes.add_counts(
            bucket=bucket, group=group, kind=CartFigures.Kind.LIVE, **{k: -v for k, v in counters.items()}
        )
        changes.add_counts(bucket=bucket, group=group, kind=CartFigures.Kind.PRUNED, **counters)
    changes.apply()
