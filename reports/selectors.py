"""Reads for the report. The figures come from the figure rows the services keep as carts and emails change
(carts/figures.py, recovery/figures.py): a period sums its 15-minute buckets, so its cost grows with the days of the
period, not with the number of carts; the minutes of a period that do not fill a bucket (a bound given to the
minute) are counted from the carts and emails themselves. The table of carts reads the cart table.

Definitions (the report page's help text and docs/report.md say the same):

- **Abandoned in the period**: carts whose ``abandoned_at`` (their latest abandonment) falls in ``[since, until)``.
  Each cart is counted once, in the period of its latest abandonment.
- **Recovered** (the contract's word: "a cart checked out with ``recovered_at`` set"): a cart abandoned in the
  period that the shopper came back to and checked out, whenever (a cart abandoned in October and bought in November
  counts as recovered in October's figures). A cart that came back but is not bought is *came back, not bought*,
  not recovered; one that came back and was abandoned again counts as still abandoned until it comes back again.
- **Revenue left**: total of the carts abandoned in the period that are still abandoned.
- **Recovered revenue**: what the recovered carts paid (their total less a coupon's discount); the discounts are
  shown beside it.
- **Abandonment rate**: abandoned ÷ (abandoned + carts checked out in the period that were never abandoned) — the
  carts that "ended" in the period, each counted once.
- **Recovery rate**: recovered ÷ abandoned.
- **Funnel** (per reminder step): the emails sent in the period, how many were clicked, the carts bought after
  them (each credited to the last reminder before the shopper came back), their revenue and the coupons' cost.
- **Holdout**: the carts abandoned in the period, by recovery group; the lift in recovery rate with its interval
  (reports/lift.py).

Carts deleted by retention keep their part of the figures ("pruned" rows), so past periods stay exact; the table and
the CSV list the carts still in the database.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from carts.figures import BUCKET_SECONDS, COUNTERS, add_up, bucket_start, figures_of_carts
from carts.models import Cart, CartFigures
from recovery.figures import COUNTERS as STEP_COUNTERS
from recovery.figures import figures_of_emails
from recovery.models import RecoveryEmail, StepFigures

from .lift import GroupFigures, HoldoutComparison, compare_groups

# "Every cart that was ever abandoned": abandoned_at is set by the sweep and kept after recovery or checkout.
EVER_ABANDONED = Q(abandoned_at__isnull=False)

DEFAULT_PERIOD_DAYS = 30

# The report's rows, as /cart/report gives them (JSON and CSV) and the admin's export.
REPORT_COLUMNS = [
    "cart_id",
    "user_id",
    "email",
    "status",
    "last_updated",
    "abandoned_at",
    "item_count",
    "total",
    "discount",
    "paid",
    "currency",
    "recovered",
    "recovery_source",
    "recovery_group",
    "emails_sent",
    "coupon",
]

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ReportFilters:
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None
    search: str = ""  # the table only: an email (part of it) or a cart number


def default_period(*, now: datetime, days: int = DEFAULT_PERIOD_DAYS) -> tuple[date, date]:
    """The report's default period as dates in the current time zone: the last ``days`` days, today included.
    ``until`` is inclusive as a date (the period ends at the next midnight)."""
    today = timezone.localtime(now).date()
    return today - timedelta(days=days - 1), today


def period_bounds(*, since: date, until: date) -> tuple[datetime, datetime]:
    """Dates (``until`` inclusive) as the half-open interval of aware datetimes ``[since 00:00, until+1 00:00)``."""
    return (
        timezone.make_aware(datetime.combine(since, time.min)),
        timezone.make_aware(datetime.combine(until + timedelta(days=1), time.min)),
    )


# --- the rows --------------------------------------------------------------------------------------------------------


def _in_period(prefix: str, since: datetime | None, until: datetime | None) -> Q:
    condition = Q()
    if since is not None:
        condition &= Q(**{f"{prefix}__gte": since})
    if until is not None:
        condition &= Q(**{f"{prefix}__lt": until})
    return condition


def _search(search: str) -> Q:
    text = search.strip().lstrip("#")
    condition = Q(user__email__icontains=text)
    if text.isdigit() and len(text) < 19:
        condition |= Q(pk=int(text))
    return condition


def abandoned_carts(*, filters: ReportFilters) -> QuerySet[Cart]:
    """Carts ever abandoned, newest abandonment first, narrowed by period (on ``abandoned_at``), status and search."""
    carts = Cart.objects.filter(EVER_ABANDONED & _in_period("abandoned_at", filters.since, filters.until))
    if filters.status:
        carts = carts.filter(status=filters.status)
    if filters.search.strip():
        carts = carts.filter(_search(filters.search))
    return carts.order_by("-abandoned_at", "-id")


def cart_rows(*, carts: QuerySet[Cart], chunk_size: int = 2000) -> Iterator[dict]:
    """Carts as the report's row dicts (``REPORT_COLUMNS``), streamed from the database in chunks (constant memory).
    ``recovered`` is true when the shopper came back after the cart's latest abandonment and checked out."""
    sent = (
        RecoveryEmail.objects.filter(cart=OuterRef("pk"), status=RecoveryEmail.Status.SENT)
        .order_by()
        .values("cart")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = carts.annotate(emails=Coalesce(Subquery(sent), 0)).values_list(
        "id",
        "user_id",
        "user__email",
        "status",
        "last_updated",
        "abandoned_at",
        "item_count",
        "total",
        "discount",
        "paid",
        "recovery_source",
        "recovery_group",
        "emails",
        "redeemed_coupon__code",
    )
    currency = settings.CART_CURRENCY
    for row in rows.iterator(chunk_size=chunk_size):
        (cart_id, user_id, email, status, last_updated, abandoned_at, item_count, total, discount, paid, source,
         group, emails, coupon) = row  # fmt: skip
        yield {
            "cart_id": cart_id,
            "user_id": user_id,
            "email": email,
            "status": status,
            "last_updated": last_updated,
            "abandoned_at": abandoned_at,
            "item_count": item_count,
            "total": total,
            "discount": discount,
            "paid": paid,
            "currency": currency,
            "recovered": abandoned_at is not None and status == Cart.Status.CHECKED_OUT,
            "recovery_source": source,
            "recovery_group": group,
            "emails_sent": emails,
            "coupon": coupon or "",
        }


def abandoned_cart_rows(*, filters: ReportFilters, chunk_size: int = 2000) -> Iterator[dict]:
    """The report's rows (/cart/report): every cart abandoned in the period, newest abandonment first, streamed."""
    return cart_rows(carts=abandoned_carts(filters=filters), chunk_size=chunk_size)


def emails_sent_by_cart(*, cart_ids: list[int]) -> dict[int, int]:
    """How many recovery emails were sent for each of these carts (absent: none). One query, for a page's rows."""
    if not cart_ids:
        return {}
    rows = (
        RecoveryEmail.objects.filter(cart_id__in=cart_ids, status=RecoveryEmail.Status.SENT)
        .values("cart_id")
        .annotate(sent=Count("pk"))
        .order_by()
    )
    return {row["cart_id"]: row["sent"] for row in rows}


# --- a period as buckets ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Split:
    """A period as the whole buckets it holds, ``[first, stop)`` (None: no bound), and the minutes at its edges that
    fill no bucket."""

    first: int | None
    stop: int | None
    edges: tuple[tuple[datetime | None, datetime | None], ...]


def _split(since: datetime | None, until: datetime | None) -> _Split:
    first = None if since is None else math.ceil(since.timestamp() / BUCKET_SECONDS)
    stop = None if until is None else math.floor(until.timestamp() / BUCKET_SECONDS)
    if first is not None and stop is not None and first >= stop:
        return _Split(first=0, stop=0, edges=((since, until),))
    edges = []
    if since is not None and bucket_start(first) != since:
        edges.append((since, bucket_start(first)))
    if until is not None and bucket_start(stop) != until:
        edges.append((bucket_start(stop), until))
    return _Split(first=first, stop=stop, edges=tuple(edges))


def _bucket_range(rows: QuerySet, split: _Split) -> QuerySet:
    if split.first is not None:
        rows = rows.filter(bucket__gte=split.first)
    if split.stop is not None:
        rows = rows.filter(bucket__lt=split.stop)
    return rows


def _cart_figures(*, since, until) -> dict[tuple[str, str], dict]:
    """(recovery group, kind) → the figures of the period: its buckets' rows, plus its edges counted from the
    carts (live)."""
    split = _split(since, until)
    found: dict[tuple[str, str], dict] = defaultdict(lambda: add_up([]))
    rows = (
        _bucket_range(CartFigures.objects.all(), split)
        .values("recovery_group", "kind")
        .annotate(**{name: Sum(name) for name in COUNTERS})
        .order_by()
    )
    for row in rows:
        found[(row["recovery_group"], row["kind"])] = add_up([row])
    for lo, hi in split.edges:
        edge = figures_of_carts(
            abandoned=Cart.objects.filter(_in_period("abandoned_at", lo, hi)),
            bought=Cart.objects.filter(_in_period("checked_out_at", lo, hi)),
        )
        for group, counters in edge.items():
            key = (group, CartFigures.Kind.LIVE)
            found[key] = add_up([found[key], counters])
    return found


# --- the summary -----------------------------------------------------------------------------------------------------


def _ratio(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class ReportSummary:
    """The report's figures for one period. Rates are fractions (0..1), ``None`` when their denominator is 0.
    ``live`` holds the counts of the carts still in the database (the size of the table)."""

    since: datetime | None
    until: datetime | None
    abandoned: int = 0
    checked_out_never_abandoned: int = 0
    still_abandoned: int = 0
    revenue_left: Decimal = ZERO
    recovered: int = 0
    came_back_not_bought: int = 0
    recovered_revenue: Decimal = ZERO
    discounts: Decimal = ZERO
    recovered_via_email: int = 0
    recovered_via_email_revenue: Decimal = ZERO
    recovered_on_their_own: int = 0
    recovered_on_their_own_revenue: Decimal = ZERO
    live: dict = field(default_factory=dict, repr=False)

    @property
    def ended(self) -> int:
        """Carts that ended in the period: abandoned, or checked out without ever being abandoned."""
        return self.abandoned + self.checked_out_never_abandoned

    @property
    def abandonment_rate(self) -> Decimal | None:
        return _ratio(self.abandoned, self.ended)

    @property
    def recovery_rate(self) -> Decimal | None:
        return _ratio(self.recovered, self.abandoned)

    def count_for_status(self, status: str | None) -> int:
        """How many carts abandoned in the period, still in the database, now have ``status`` (all of them for
        ``None``): the size of the report table, so the page needs no separate COUNT."""
        live = self.live or {}
        return {
            None: live.get("abandoned", 0),
            "": live.get("abandoned", 0),
            Cart.Status.ABANDONED: live.get("still_abandoned", 0),
            Cart.Status.ACTIVE: live.get("came_back", 0),
            Cart.Status.CHECKED_OUT: live.get("recovered", 0),
        }[status]


def _summary_of(counters: dict, *, filters: ReportFilters, live: dict) -> ReportSummary:
    return ReportSummary(
        since=filters.since,
        until=filters.until,
        abandoned=counters["abandoned"],
        checked_out_never_abandoned=counters["bought_unabandoned"],
        still_abandoned=counters["still_abandoned"],
        revenue_left=counters["revenue_left"],
        recovered=counters["recovered"],
        came_back_not_bought=counters["came_back"],
        recovered_revenue=counters["recovered_revenue"],
        discounts=counters["recovered_discount"],
        recovered_via_email=counters["via_email"],
        recovered_via_email_revenue=counters["via_email_revenue"],
        recovered_on_their_own=counters["recovered"] - counters["via_email"],
        recovered_on_their_own_revenue=counters["recovered_revenue"] - counters["via_email_revenue"],
        live=live,
    )


@dataclass(frozen=True)
class Report:
    """Everything the page and the metrics show of a period, read once."""

    summary: ReportSummary
    holdout: HoldoutComparison
    steps: list


def report_summary(*, filters: ReportFilters) -> ReportSummary:
    """The summary figures of the period (``filters.status`` and ``search`` are ignored: the figures describe the
    whole period)."""
    return _summary_from(_cart_figures(since=filters.since, until=filters.until), filters=filters)


def _summary_from(found: dict, *, filters: ReportFilters) -> ReportSummary:
    total = add_up(found.values())
    live = add_up(counters for (_, kind), counters in found.items() if kind == CartFigures.Kind.LIVE)
    return _summary_of(total, filters=filters, live=live)


def _holdout_from(found: dict) -> HoldoutComparison:
    def group(name: str) -> GroupFigures:
        counters = add_up(c for (group_name, _), c in found.items() if group_name == name)
        return GroupFigures(
            abandoned=counters["abandoned"], recovered=counters["recovered"], revenue=counters["recovered_revenue"]
        )

    return compare_groups(treated=group(Cart.RecoveryGroup.TREATED), holdout=group(Cart.RecoveryGroup.HOLDOUT))


def holdout_comparison(*, filters: ReportFilters) -> HoldoutComparison:
    """The carts abandoned in the period by recovery group, and the lift (reports/lift.py)."""
    return _holdout_from(_cart_figures(since=filters.since, until=filters.until))


@dataclass(frozen=True)
class StepFunnel:
    step: int
    sent: int
    clicked: int
    recovered: int
    revenue: Decimal
    coupon_cost: Decimal

    @property
    def click_rate(self) -> Decimal | None:
        return _ratio(self.clicked, self.sent)

    @property
    def recovery_rate(self) -> Decimal | None:
        return _ratio(self.recovered, self.sent)


def step_funnel(*, filters: ReportFilters) -> list[StepFunnel]:
    """Per reminder step, the funnel of the emails sent in the period (live and pruned)."""
    split = _split(filters.since, filters.until)
    by_step: dict[int, dict] = defaultdict(lambda: dict.fromkeys(STEP_COUNTERS, 0))
    rows = (
        _bucket_range(StepFigures.objects.all(), split)
        .values("step")
        .annotate(**{name: Sum(name) for name in STEP_COUNTERS})
        .order_by()
    )
    for row in rows:
        for name in STEP_COUNTERS:
            by_step[row["step"]][name] += row[name] or 0
    for lo, hi in split.edges:
        for (_, step), counters in figures_of_emails(
            RecoveryEmail.objects.filter(_in_period("sent_at", lo, hi))
        ).items():
            for name in STEP_COUNTERS:
                by_step[step][name] += counters[name]
    return [
        StepFunnel(
            step=step,
            sent=counters["sent"],
            clicked=counters["clicked"],
            recovered=counters["recovered"],
            revenue=Decimal(counters["revenue"]).quantize(Decimal("0.01")),
            coupon_cost=Decimal(counters["coupon_cost"]).quantize(Decimal("0.01")),
        )
        for step, counters in sorted(by_step.items())
        if any(counters.values())
    ]


def full_report(*, filters: ReportFilters) -> Report:
    found = _cart_figures(since=filters.since, until=filters.until)
    return Report(
        summary=_summary_from(found, filters=filters), holdout=_holdout_from(found), steps=step_funnel(filters=filters)
    )


# --- per day ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    day: date
    abandoned: int
    recovered: int
    recovered_revenue: Decimal = ZERO


@dataclass(frozen=True)
class DailySeries:
    days: list[DayCount] = field(default_factory=list)
    # True when the period held more than MAX_CHART_DAYS days of data: the series is its last MAX_CHART_DAYS days.
    truncated: bool = False

    @property
    def max_abandoned(self) -> int:
        return max((day.abandoned for day in self.days), default=0)

    @property
    def max_revenue(self) -> Decimal:
        return max((day.recovered_revenue for day in self.days), default=ZERO)


MAX_CHART_DAYS = 366


def _abandoned_span(*, filters: ReportFilters) -> tuple[datetime, datetime] | None:
    """The first and last moment with abandonments in the period, or None when there is none."""
    split = _split(filters.since, filters.until)
    span = _bucket_range(CartFigures.objects.filter(abandoned__gt=0), split).aggregate(
        first=Min("bucket"), last=Max("bucket")
    )
    moments = []
    if span["first"] is not None:
        moments += [bucket_start(span["first"]), bucket_start(span["last"])]
    for lo, hi in split.edges:
        edge = Cart.objects.filter(EVER_ABANDONED & _in_period("abandoned_at", lo, hi)).aggregate(
            first=Min("abandoned_at"), last=Max("abandoned_at")
        )
        moments += [moment for moment in (edge["first"], edge["last"]) if moment is not None]
    return (min(moments), max(moments)) if moments else None


def abandoned_carts_per_day(*, filters: ReportFilters) -> DailySeries:
    """Carts abandoned per day of ``abandoned_at`` (days in the current time zone), how many of them were recovered
    and what they paid, every day of the period present (zeros included); ``filters.status`` is ignored.

    The days are summed from the 15-minute figure rows (every time zone's midnight is a bucket's edge, so a day is
    whole buckets, DST included): a query over a few thousand rows whatever the number of carts."""
    tz = timezone.get_current_timezone()
    span = None
    if filters.since is None or filters.until is None:
        span = _abandoned_span(filters=filters)
        if span is None:
            return DailySeries()
    first = timezone.localtime(filters.since if filters.since is not None else span[0], tz).date()
    last = timezone.localtime(
        filters.until - timedelta(microseconds=1) if filters.until is not None else span[1], tz
    ).date()
    truncated = False
    if (last - first).days >= MAX_CHART_DAYS:
        # A long period (a typo'd year, "all time"): keep the days that hold data, and at most the last
        # MAX_CHART_DAYS of those, so the query and the page stay bounded whatever the dates asked for.
        span = span or _abandoned_span(filters=filters)
        if span is None:
            return DailySeries()
        first = max(first, timezone.localtime(span[0], tz).date())
        last = min(last, timezone.localtime(span[1], tz).date())
        if (last - first).days >= MAX_CHART_DAYS:
            first, truncated = last - timedelta(days=MAX_CHART_DAYS - 1), True
    lo = timezone.make_aware(datetime.combine(first, time.min), tz)
    hi = timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min), tz)
    if filters.since is not None:
        lo = max(lo, filters.since)
    if filters.until is not None:
        hi = min(hi, filters.until)
    split = _split(lo, hi)
    per_day: dict[date, list] = defaultdict(lambda: [0, 0, ZERO])
    rows = (
        _bucket_range(CartFigures.objects.all(), split)
        .values("bucket")
        .annotate(a=Sum("abandoned"), r=Sum("recovered"), m=Sum("recovered_revenue"))
        .order_by()
    )
    for row in rows:
        day = timezone.localtime(bucket_start(row["bucket"]), tz).date()
        per_day[day][0] += row["a"]
        per_day[day][1] += row["r"]
        per_day[day][2] += row["m"]
    for edge_lo, edge_hi in split.edges:
        carts = Cart.objects.filter(EVER_ABANDONED & _in_period("abandoned_at", edge_lo, edge_hi))
        for abandoned_at, status, paid, total in carts.values_list("abandoned_at", "status", "paid", "total"):
            day = timezone.localtime(abandoned_at, tz).date()
            per_day[day][0] += 1
            if status == Cart.Status.CHECKED_OUT:
                per_day[day][1] += 1
                per_day[day][2] += paid if paid is not None else total
    days = []
    day = first
    while day <= last:
        abandoned, recovered, revenue = per_day.get(day, (0, 0, ZERO))
        days.append(DayCount(day=day, abandoned=abandoned, recovered=recovered, recovered_revenue=revenue))
        day += timedelta(days=1)
    return DailySeries(days=days, truncated=truncated)
