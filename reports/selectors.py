"""Reads for the report. Every figure comes from the cart table, whose ``item_count``/``total`` the services keep
equal to the lines, so no query here joins the lines.

Definitions (the report page's help text and docs/report.md say the same):

- **Abandoned in the period**: carts whose ``abandoned_at`` (their latest abandonment) falls in ``[since, until)``.
  Each cart is counted once, in the period of its latest abandonment.
- **Recovered** (the contract's word: "a cart checked out with ``recovered_at`` set"): a cart abandoned in the
  period that the shopper came back to and checked out, whenever (a cart abandoned in October and bought in November
  counts as recovered in October's figures). A cart that came back but is not bought is *came back, not bought*,
  not recovered; one that came back and was abandoned again counts as still abandoned until it comes back again.
- **Revenue left**: total of the carts abandoned in the period that are still abandoned.
- **Recovered revenue**: total of the recovered carts.
- **Abandonment rate**: abandoned ÷ (abandoned + carts checked out in the period that were never abandoned) — the
  carts that "ended" in the period, each counted once.
- **Recovery rate**: recovered ÷ abandoned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from carts.models import Cart
from recovery.models import RecoveryEmail

# "Every cart that was ever abandoned": abandoned_at is set by the sweep and kept after recovery or checkout.
EVER_ABANDONED = Q(abandoned_at__isnull=False)
# Among carts ever abandoned. The only way out of "abandoned" is a return, which the services record in
# recovered_at/recovery_source; so a checked-out cart among them is one "checked out with recovered_at set": the
# contract's *recovered* cart. Tested on status alone, the figures stay index-only (carts_cart_report_cover).
STILL_ABANDONED = Q(status=Cart.Status.ABANDONED)
RECOVERED = Q(status=Cart.Status.CHECKED_OUT)
CAME_BACK_NOT_BOUGHT = Q(status=Cart.Status.ACTIVE)  # came back after the latest abandonment; not (yet) recovered
VIA_EMAIL_LINK = Q(recovery_source=Cart.RecoverySource.EMAIL_LINK)

DEFAULT_PERIOD_DAYS = 30

REPORT_COLUMNS = [
    "cart_id",
    "user_id",
    "email",
    "status",
    "last_updated",
    "abandoned_at",
    "item_count",
    "total",
    "recovered",
]

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ReportFilters:
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None


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


def _in_period(prefix: str, filters: ReportFilters) -> Q:
    condition = Q()
    if filters.since is not None:
        condition &= Q(**{f"{prefix}__gte": filters.since})
    if filters.until is not None:
        condition &= Q(**{f"{prefix}__lt": filters.until})
    return condition


def abandoned_carts(*, filters: ReportFilters) -> QuerySet[Cart]:
    """Carts ever abandoned, newest abandonment first, narrowed by period (on ``abandoned_at``) and status."""
    carts = Cart.objects.filter(EVER_ABANDONED & _in_period("abandoned_at", filters))
    if filters.status:
        carts = carts.filter(status=filters.status)
    return carts.order_by("-abandoned_at", "-id")


def cart_rows(*, carts: QuerySet[Cart], chunk_size: int = 2000) -> Iterator[dict]:
    """Carts as the report's row dicts (``REPORT_COLUMNS``), streamed from the database in chunks (constant
    memory). ``recovered`` is true when the shopper came back after the cart's latest abandonment and checked out."""
    rows = carts.values_list(
        "id",
        "user_id",
        "user__email",
        "status",
        "last_updated",
        "abandoned_at",
        "item_count",
        "total",
    )
    for cart_id, user_id, email, status, last_updated, abandoned_at, item_count, total in rows.iterator(
        chunk_size=chunk_size
    ):
        yield {
            "cart_id": cart_id,
            "user_id": user_id,
            "email": email,
            "status": status,
            "last_updated": last_updated,
            "abandoned_at": abandoned_at,
            "item_count": item_count,
            "total": total,
            "recovered": abandoned_at is not None and status == Cart.Status.CHECKED_OUT,
        }


def abandoned_cart_rows(*, filters: ReportFilters, chunk_size: int = 2000) -> Iterator[dict]:
    """The report's rows (/cart/report): every cart abandoned in the period, newest abandonment first, streamed."""
    return cart_rows(carts=abandoned_carts(filters=filters), chunk_size=chunk_size)


@dataclass(frozen=True)
class ReportSummary:
    """The report's figures for one period. Rates are fractions (0..1), ``None`` when their denominator is 0."""

    since: datetime | None
    until: datetime | None
    abandoned: int = 0
    checked_out_never_abandoned: int = 0
    still_abandoned: int = 0
    revenue_left: Decimal = ZERO
    recovered: int = 0
    came_back_not_bought: int = 0
    recovered_revenue: Decimal = ZERO
    recovered_via_email: int = 0
    recovered_via_email_revenue: Decimal = ZERO
    recovered_on_their_own: int = 0
    recovered_on_their_own_revenue: Decimal = ZERO

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
        """How many carts abandoned in the period now have ``status`` (all of them for ``None``): the size of the
        report table, so the page needs no separate COUNT."""
        return {
            None: self.abandoned,
            "": self.abandoned,
            Cart.Status.ABANDONED: self.still_abandoned,
            Cart.Status.ACTIVE: self.came_back_not_bought,
            Cart.Status.CHECKED_OUT: self.recovered,
        }[status]


def _ratio(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def report_summary(*, filters: ReportFilters) -> ReportSummary:
    """The summary figures of the period (``filters.status`` is ignored: the figures describe the whole period).

    Two aggregate queries on the cart table, each on its own index (``abandoned_at``, ``checked_out_at``)."""
    figures = Cart.objects.filter(EVER_ABANDONED & _in_period("abandoned_at", filters)).aggregate(
        abandoned=Count("pk"),
        still_abandoned=Count("pk", filter=STILL_ABANDONED),
        revenue_left=Sum("total", filter=STILL_ABANDONED),
        came_back_not_bought=Count("pk", filter=CAME_BACK_NOT_BOUGHT),
        recovered=Count("pk", filter=RECOVERED),
        recovered_revenue=Sum("total", filter=RECOVERED),
        via_email=Count("pk", filter=RECOVERED & VIA_EMAIL_LINK),
        via_email_revenue=Sum("total", filter=RECOVERED & VIA_EMAIL_LINK),
    )
    checked_out_never_abandoned = Cart.objects.filter(
        Q(abandoned_at__isnull=True, status=Cart.Status.CHECKED_OUT) & _in_period("checked_out_at", filters)
    ).count()
    recovered = figures["recovered"]
    recovered_revenue = figures["recovered_revenue"] or ZERO
    via_email_revenue = figures["via_email_revenue"] or ZERO
    return ReportSummary(
        since=filters.since,
        until=filters.until,
        abandoned=figures["abandoned"],
        checked_out_never_abandoned=checked_out_never_abandoned,
        still_abandoned=figures["still_abandoned"],
        revenue_left=figures["revenue_left"] or ZERO,
        recovered=recovered,
        came_back_not_bought=figures["came_back_not_bought"],
        recovered_revenue=recovered_revenue,
        recovered_via_email=figures["via_email"],
        recovered_via_email_revenue=via_email_revenue,
        recovered_on_their_own=recovered - figures["via_email"],
        recovered_on_their_own_revenue=recovered_revenue - via_email_revenue,
    )


@dataclass(frozen=True)
class DayCount:
    day: date
    abandoned: int
    recovered: int


@dataclass(frozen=True)
class DailySeries:
    days: list[DayCount] = field(default_factory=list)
    # True when the period held more than MAX_CHART_DAYS days of data: the series is its last MAX_CHART_DAYS days.
    truncated: bool = False

    @property
    def max_abandoned(self) -> int:
        return max((day.abandoned for day in self.days), default=0)


def _day_bounds(*, first: date, last: date, filters: ReportFilters, tz) -> list[tuple[date, datetime, datetime]]:
    """Each local day of the period as [start, end) in aware datetimes, clipped to the period's own bounds."""
    bounds = []
    day = first
    while day <= last:
        start = timezone.make_aware(datetime.combine(day, time.min), tz)
        end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), tz)
        if filters.since is not None:
            start = max(start, filters.since)
        if filters.until is not None:
            end = min(end, filters.until)
        bounds.append((day, start, end))
        day += timedelta(days=1)
    return bounds


MAX_CHART_DAYS = 366


def _abandoned_span(*, filters: ReportFilters) -> tuple[datetime, datetime] | None:
    """The first and last abandonment in the period, or None when there is none."""
    span = Cart.objects.filter(EVER_ABANDONED & _in_period("abandoned_at", filters)).aggregate(
        first=Min("abandoned_at"), last=Max("abandoned_at")
    )
    return None if span["first"] is None else (span["first"], span["last"])


def abandoned_carts_per_day(*, filters: ReportFilters) -> DailySeries:
    """Carts abandoned per day of ``abandoned_at`` (days in the current time zone) and how many of them were recovered,
    every day of the period present (zeros included); ``filters.status`` is ignored.

    One query (two when the period is open-ended: its first and last day come from the data). Each day's local
    midnights are computed here, so any time zone (DST, half-hour offsets) is exact, and the database counts each
    day as a range of the ``abandoned_at`` index (index-only with carts_cart_report_cover). A GROUP BY on
    ``TruncDate`` would sort every row, and on SQLite call a Python function per row: seconds on 200,000 carts."""
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
    bounds = _day_bounds(first=first, last=last, filters=filters, tz=tz)

    quote = connection.ops.quote_name
    table = quote(Cart._meta.db_table)
    abandoned_at = quote(Cart._meta.get_field("abandoned_at").column)
    status = quote(Cart._meta.get_field("status").column)
    bound = "CAST(%s AS timestamp with time zone)" if connection.vendor == "postgresql" else "%s"
    values = ", ".join(f"({index}, {bound}, {bound})" for index in range(len(bounds)))
    in_day = f"c.{abandoned_at} >= bounds.lo AND c.{abandoned_at} < bounds.hi"
    # Only quoted model names and generated placeholders go into the text; every value is a parameter.
    sql = (
        f"WITH bounds (i, lo, hi) AS (VALUES {values}) "  # noqa: S608
        f"SELECT bounds.i, "
        f"(SELECT COUNT(*) FROM {table} c WHERE {in_day}), "
        f"(SELECT COUNT(*) FROM {table} c WHERE {in_day} AND c.{status} = %s) "
        f"FROM bounds ORDER BY bounds.i"
    )
    adapt = connection.ops.adapt_datetimefield_value
    params = [adapt(moment) for _, start, end in bounds for moment in (start, end)]
    params.append(Cart.Status.CHECKED_OUT.value)  # recovered: see RECOVERED
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        counts = {index: (abandoned, recovered) for index, abandoned, recovered in cursor.fetchall()}
    return DailySeries(
        days=[
            DayCount(day=day, abandoned=counts[index][0], recovered=counts[index][1])
            for index, (day, _, _) in enumerate(bounds)
        ],
        truncated=truncated,
    )


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
