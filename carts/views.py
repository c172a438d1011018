"""The report: /cart/report (JSON or CSV, streamed) and /cart/abandoned (the HTML page for staff)."""

import csv
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view, permission_classes, renderer_classes
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer

from cartrecovery.api import IsStaff

from .api.serializers import ReportQuery, ReportRowSerializer
from .models import Cart
from .selectors import (
    REPORT_COLUMNS,
    DailySeries,
    ReportFilters,
    abandoned_cart_rows,
    abandoned_carts,
    abandoned_carts_per_day,
    default_period,
    emails_sent_by_cart,
    report_summary,
)


class CSVRenderer(BaseRenderer):
    """Lets DRF accept ``?format=csv``; the view streams the CSV itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if data is not None else b""


def _json_value(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "quantize"):
        return f"{value:.2f}"
    return value


def _stream_json(rows: Iterable[dict]) -> Iterator[str]:
    yield "["
    first = True
    for row in rows:
        yield ("" if first else ",") + json.dumps({key: _json_value(value) for key, value in row.items()})
        first = False
    yield "]"


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_cell(value):
    text = _json_value(value)
    # Spreadsheet formula injection: a cell starting with = + - @ is quoted as text.
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _stream_csv(rows: Iterable[dict]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(REPORT_COLUMNS)
    for row in rows:
        yield writer.writerow([_csv_cell(row[column]) for column in REPORT_COLUMNS])


FILTER_PARAMS = ("since", "until", "status")


def report_filters(params) -> ReportFilters:
    """The filters of a query string; an empty value (a cleared date picker) means "no bound"."""
    query = ReportQuery(data={name: params[name] for name in FILTER_PARAMS if params.get(name)})
    query.is_valid(raise_exception=True)
    return ReportFilters(**query.validated_data)


def csv_response(rows: Iterable[dict], *, filename_prefix: str = "abandoned-carts") -> StreamingHttpResponse:
    """The rows as a streamed CSV download: one row in memory at a time."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(_stream_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename_prefix}-{stamp}.csv"'
    return response


@extend_schema(
    parameters=[ReportQuery, OpenApiParameter("format", enum=["json", "csv"], required=False)],
    responses={200: ReportRowSerializer(many=True)},
)
@api_view(["GET"])
@permission_classes([IsStaff])
@renderer_classes([JSONRenderer, CSVRenderer])
def report_json_or_csv(request):
    """Every cart ever abandoned (``?status=abandoned``: those still abandoned), newest first, streamed."""
    filters = report_filters(request.query_params)
    rows = abandoned_cart_rows(filters=filters)
    if request.query_params.get("format") == "csv":
        return csv_response(rows)
    return StreamingHttpResponse(_stream_json(rows), content_type="application/json")


# --- The HTML page ----------------------------------------------------------------------------------------------

PAGE_SIZE = 50


class _TableRows:
    """The report table's rows as Paginator reads them.

    Its length is told (the summary already counted the period's carts by status, so there is no second COUNT over
    200,000 rows). A page is read in two steps: the page's ids first, then those carts with their shopper, so a
    deep OFFSET skips index entries instead of joined rows."""

    def __init__(self, carts: QuerySet[Cart], *, count: int):
        self.carts = carts
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, page: slice) -> list[Cart]:
        ids = list(self.carts.values_list("pk", flat=True)[page])
        carts = Cart.objects.select_related("user").in_bulk(ids)
        return [carts[cart_id] for cart_id in ids if cart_id in carts]


@dataclass(frozen=True)
class ChartBar:
    x: float
    width: float
    abandoned_y: float
    abandoned_height: float
    recovered_y: float
    recovered_height: float
    day: date
    abandoned: int
    recovered: int


@dataclass(frozen=True)
class ChartTick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    """An SVG bar chart, laid out here so the template only places shapes (no JavaScript, no library)."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    bars: list[ChartBar]
    y_ticks: list[ChartTick]
    x_ticks: list[ChartTick]

    @property
    def bottom(self) -> int:
        return self.top + self.plot_height


def _nice_ceiling(value: int, *, ticks: int = 4) -> tuple[int, int]:
    """An axis maximum ≥ ``value`` and a step of 1, 2 or 5 times 10^k giving at most ``ticks`` intervals."""
    if value <= 0:
        return 1, 1
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if step * ticks >= value:
                return step * math.ceil(value / step), step
        magnitude *= 10


def build_chart(series: DailySeries, *, width: int = 960, height: int = 240) -> Chart:
    """Bars per day: the full bar is the carts abandoned that day, the darker part those recovered. The y axis
    is scaled to the busiest day (so 3 carts and 3,000 carts a day both fill the chart); x labels thin out to ~10."""
    left, right, top, bottom = 56, 8, 10, 26
    plot_width, plot_height = width - left - right, height - top - bottom
    axis_max, step = _nice_ceiling(series.max_abandoned)
    count = max(len(series.days), 1)
    band = plot_width / count
    gap = band * 0.2 if band >= 4 else 0
    bars = []
    for index, day in enumerate(series.days):
        abandoned_height = plot_height * day.abandoned / axis_max
        recovered_height = plot_height * day.recovered / axis_max
        bars.append(
            ChartBar(
                x=round(left + index * band + gap / 2, 2),
                width=round(max(band - gap, 0.5), 2),
                abandoned_y=round(top + plot_height - abandoned_height, 2),
                abandoned_height=round(abandoned_height, 2),
                recovered_y=round(top + plot_height - recovered_height, 2),
                recovered_height=round(recovered_height, 2),
                day=day.day,
                abandoned=day.abandoned,
                recovered=day.recovered,
            )
        )
    y_ticks = [
        ChartTick(position=round(top + plot_height - plot_height * value / axis_max, 2), label=f"{value:,}")
        for value in range(0, axis_max + 1, step)
    ]
    every = max(1, math.ceil(len(series.days) / 10))
    x_ticks = [
        ChartTick(position=round(left + (index + 0.5) * band, 2), label=day.day.strftime("%b %-d"))
        for index, day in enumerate(series.days)
        if index % every == 0
    ]
    return Chart(
        width=width,
        height=height,
        left=left,
        top=top,
        plot_width=plot_width,
        plot_height=plot_height,
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
    )


def _money(value: Decimal) -> str:
    return f"{settings.CART_CURRENCY} {value:,.2f}"


def _percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _page_form(params, *, now) -> dict[str, str]:
    """The page's filter values as the form shows them: the default period (last 30 days) when a date is absent
    from the query string; a date present but empty means "no bound"."""
    default_since, default_until = default_period(now=now)
    return {
        "since": params.get("since", default_since.isoformat()),
        "until": params.get("until", default_until.isoformat()),
        "status": params.get("status", ""),
    }


@staff_member_required
def abandoned_report_page(request):
    """The HTML report for staff, in the admin's look: figures, a chart per day, the table and a CSV link."""
    form = _page_form(request.GET, now=timezone.now())
    errors = {}
    try:
        filters = report_filters(form)
    except ValidationError as exc:
        errors = exc.detail
        form = _page_form({}, now=timezone.now())
        filters = report_filters(form)
    summary = report_summary(filters=filters)
    series = abandoned_carts_per_day(filters=filters)
    chart = build_chart(series)
    rows = _TableRows(abandoned_carts(filters=filters), count=summary.count_for_status(filters.status))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    carts = page.object_list
    sent = emails_sent_by_cart(cart_ids=[cart.pk for cart in carts])
    for cart in carts:
        cart.emails_sent = sent.get(cart.pk, 0)
    csv_query = urlencode({**{name: value for name, value in form.items() if value}, "format": "csv"})
    return render(
        request,
        "carts/report.html",
        {
            **admin.site.each_context(request),
            "title": "Abandoned carts",
            "form": form,
            "errors": errors,
            "filters": filters,
            "summary": summary,
            "chart_truncated": series.truncated,
            "figures": {
                "abandonment_rate": _percent(summary.abandonment_rate),
                "recovery_rate": _percent(summary.recovery_rate),
                "revenue_left": _money(summary.revenue_left),
                "recovered_revenue": _money(summary.recovered_revenue),
                "via_email_revenue": _money(summary.recovered_via_email_revenue),
                "on_their_own_revenue": _money(summary.recovered_on_their_own_revenue),
            },
            "chart": chart,
            "page_obj": page,
            "carts": carts,
            "page_query": urlencode(form),
            "csv_url": f"{reverse('carts:report')}?{csv_query}",
            "statuses": [("", "Any status"), *Cart.Status.choices],
            "currency": settings.CART_CURRENCY,
            "time_zone": timezone.get_current_timezone_name(),
        },
    )
