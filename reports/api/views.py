"""The report's JSON routes, staff only: /cart/report (every cart ever abandoned, JSON or CSV, streamed),
GET /api/report/csv/ (the same rows as CSV only) and GET /api/report/metrics/ (the page's summary figures for
dashboards; the period defaults to the last 30 days)."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view, permission_classes, renderer_classes
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.exports import CSVRenderer, csv_response, json_response
from core.permissions import IsStaff

from ..selectors import (
    REPORT_COLUMNS,
    ReportFilters,
    abandoned_cart_rows,
    default_period,
    full_report,
    period_bounds,
)
from .serializers import (
    ReportMetricsQuery,
    ReportMetricsSerializer,
    ReportQuery,
    ReportRowSerializer,
    ensure_period_order,
)

FILTER_PARAMS = ("since", "until", "status", "search")


def report_filters(params) -> ReportFilters:
    """The filters of a query string; an empty value (a cleared date picker) means "no bound"."""
    query = ReportQuery(data={name: params[name] for name in FILTER_PARAMS if params.get(name)})
    query.is_valid(raise_exception=True)
    return ReportFilters(**query.validated_data)


@extend_schema(
    parameters=[ReportQuery, OpenApiParameter("format", enum=["json", "csv"], required=False)],
    responses={200: ReportRowSerializer(many=True)},
)
@api_view(["GET"])
@permission_classes([IsStaff])
@renderer_classes([JSONRenderer, CSVRenderer])
def report_json_or_csv(request):
    """Every cart ever abandoned (``?status=abandoned``: those still abandoned), newest first, streamed."""
    rows = abandoned_cart_rows(filters=report_filters(request.query_params))
    if request.query_params.get("format") == "csv":
        return csv_response(rows, columns=REPORT_COLUMNS, filename_prefix="abandoned-carts")
    return json_response(rows)


CSV_ROWS = OpenApiResponse(
    response=OpenApiTypes.STR, description="The rows of /cart/report as CSV, with a header line, streamed."
)


@extend_schema(
    parameters=[ReportQuery, OpenApiParameter("format", exclude=True)],
    responses={(200, "text/csv"): CSV_ROWS},
    tags=["report"],
)
@api_view(["GET"])
@permission_classes([IsStaff])
@renderer_classes([JSONRenderer, CSVRenderer])
def report_csv(request):
    """``/cart/report?format=csv`` as an operation of its own. One answer, one media type: a client generated from the
    schema (openapi-python-client and most others) reads only the first media type an answer lists, so it could not
    take the CSV variant of /cart/report, which lists JSON first. Errors are JSON, as everywhere."""
    rows = abandoned_cart_rows(filters=report_filters(request.query_params))
    return csv_response(rows, columns=REPORT_COLUMNS, filename_prefix="abandoned-carts")


def metrics_filters(params, *, now) -> ReportFilters:
    """The period of a metrics request: each bound given, or the default period's (last 30 days)."""
    query = ReportMetricsQuery(data={name: params[name] for name in ("since", "until") if params.get(name)})
    query.is_valid(raise_exception=True)
    first_day, last_day = default_period(now=now)
    default_since, default_until = period_bounds(since=first_day, until=last_day)
    since = query.validated_data.get("since", default_since)
    until = query.validated_data.get("until", default_until)
    ensure_period_order(since, until)
    return ReportFilters(since=since, until=until)


@extend_schema(parameters=[ReportMetricsQuery], responses={200: ReportMetricsSerializer}, tags=["report"])
@api_view(["GET"])
@permission_classes([IsStaff])
def report_metrics(request):
    """The abandoned-cart report's summary figures for a period (default: the last 30 days)."""
    report = full_report(filters=metrics_filters(request.query_params, now=timezone.now()))
    return Response(ReportMetricsSerializer(report).data)
