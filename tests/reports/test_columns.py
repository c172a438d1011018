"""The report's columns are declared once (reports/selectors.py): the JSON rows, the CSV header, the admin's CSV
export and the OpenAPI schema all have exactly those columns, in that order."""

import csv
import io
import json

import pytest

from carts.models import Cart
from reports.selectors import REPORT_COLUMNS
from tests.carts.factories import make_cart
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def _streamed(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_json_rows_csv_header_admin_export_and_schema_share_the_columns(staff, admin_browser, item, clock):
    cart = make_cart(lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=clock.now())
    client = client_for(staff)

    rows = json.loads(_streamed(client.get("/cart/report")))
    header = next(csv.reader(io.StringIO(_streamed(client.get("/cart/report?format=csv")))))
    exported = admin_browser.post(
        "/admin/carts/cart/", {"action": "export_selected_as_csv", "_selected_action": [cart.pk]}
    )
    export_header = next(csv.reader(io.StringIO(_streamed(exported))))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    schema_columns = list(schema["components"]["schemas"]["ReportRow"]["properties"])

    assert list(rows[0]) == REPORT_COLUMNS
    assert header == REPORT_COLUMNS
    assert export_header == REPORT_COLUMNS
    assert schema_columns == REPORT_COLUMNS
