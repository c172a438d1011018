"""Streamed exports: rows (dicts) as a JSON array or as CSV, one row in memory at a time."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework.renderers import BaseRenderer


class CSVRenderer(BaseRenderer):
    """Lets DRF accept ``?format=csv``; the view streams the CSV itself (``csv_response``)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if data is not None else b""


def plain_value(value):
    """A row's value as an export writes it: date-times in ISO 8601 to the second, money with two decimals."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "quantize"):
        return f"{value:.2f}"
    return value


def csv_value(value):
    """As ``plain_value``, with booleans as true/false (what spreadsheets and JSON readers both take) and no value as
    an empty cell."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return plain_value(value)


def stream_json(rows: Iterable[dict]) -> Iterator[str]:
    yield "["
    first = True
    for row in rows:
        yield ("" if first else ",") + json.dumps({key: plain_value(value) for key, value in row.items()})
        first = False
    yield "]"


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_cell(value):
    text = csv_value(value)
    # Spreadsheet formula injection: a cell starting with = + - @ (or a tab or carriage return) is quoted as text.
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def stream_csv(rows: Iterable[dict], *, columns: Sequence[str]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([csv_cell(row[column]) for column in columns])


def json_response(rows: Iterable[dict]) -> StreamingHttpResponse:
    return StreamingHttpResponse(stream_json(rows), content_type="application/json")


def csv_response(rows: Iterable[dict], *, columns: Sequence[str], filename_prefix: str) -> StreamingHttpResponse:
    """The rows as a streamed CSV download."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(stream_csv(rows, columns=columns), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename_prefix}-{stamp}.csv"'
    return response
