"""The report: /cart/report (JSON or CSV, streamed) and /cart/abandoned (the HTML page for staff)."""

import csv
import json
from collections.abc import Iterable, Iterator

from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view, permission_classes, renderer_classes
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer

from cartrecovery.api import IsStaff

from .api.serializers import ReportQuery, ReportRowSerializer
from .models import Cart
from .selectors import REPORT_COLUMNS, ReportFilters, abandoned_cart_rows, abandoned_carts


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


def report_filters(params) -> ReportFilters:
    query = ReportQuery(data=params)
    query.is_valid(raise_exception=True)
    return ReportFilters(**query.validated_data)


def csv_response(rows: Iterable[dict]) -> StreamingHttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(_stream_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="abandoned-carts-{stamp}.csv"'
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


@staff_member_required
def abandoned_report_page(request):
    """The HTML report for staff, in the admin's look."""
    errors = {}
    try:
        filters = report_filters(request.GET)
    except ValidationError as exc:
        errors = exc.detail
        filters = ReportFilters()
    page = Paginator(abandoned_carts(filters=filters).select_related("user"), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "carts/report.html",
        {
            "title": "Abandoned carts",
            "page_obj": page,
            "errors": errors,
            "filters": filters,
            "query": query.urlencode(),
            "statuses": [("", "Any status"), *Cart.Status.choices],
        },
    )
