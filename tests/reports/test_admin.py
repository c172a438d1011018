"""The admin side of the report: the carts changelist, its CSV action, the abandonment logs, the scheduler."""

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from carts.models import Cart
from tests.carts.factories import AbandonmentLogFactory
from tests.reports.fixtures import build_month
from tests.reports.test_page import bulk_abandoned_carts, streamed

pytestmark = pytest.mark.django_db


def test_the_carts_changelist_runs_the_same_number_of_queries_for_5_or_500_carts(admin_browser):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = admin_browser.get("/admin/carts/cart/", {"status__exact": "abandoned"})
        assert response.status_code == 200
        return len(captured)

    bulk_abandoned_carts(5)
    with_5 = queries()
    bulk_abandoned_carts(495, prefix="more")
    with_500 = queries()

    assert with_5 == with_500


def test_the_carts_changelist_shows_totals_and_searches_by_email(admin_browser):
    month = build_month()
    email = month.carts["a"].user.email

    html = admin_browser.get("/admin/carts/cart/", {"q": email}).content.decode()

    assert email in html
    assert "30.00" in html
    assert month.carts["b"].user.email not in html
    assert 'id="changelist-filter"' in html
    assert "By abandoned at" in html
    assert '<nav class="toplinks">' in html  # the date hierarchy on last_updated
    assert "last_updated__year=2026" in html


def test_the_cart_page_lists_its_lines_inline(admin_browser, item):
    from tests.carts.factories import make_cart

    cart = make_cart(lines=[(item, 2)])

    html = admin_browser.get(f"/admin/carts/cart/{cart.pk}/change/").content.decode()

    assert item.name in html
    assert "20.00" in html


def test_the_export_action_streams_the_selected_carts_as_csv(admin_browser):
    month = build_month()
    chosen = month.ids("a", "f")

    response = admin_browser.post(
        "/admin/carts/cart/", {"action": "export_selected_as_csv", "_selected_action": chosen, "index": 0}
    )
    rows = list(csv.DictReader(io.StringIO(streamed(response))))

    assert response["Content-Type"].startswith("text/csv")
    assert sorted(int(row["cart_id"]) for row in rows) == sorted(chosen)
    assert {row["status"] for row in rows} == {"abandoned", "checked_out"}


def test_abandonment_logs_are_read_only_and_link_to_their_cart(admin_browser):
    log = AbandonmentLogFactory()

    listing = admin_browser.get("/admin/carts/abandonmentlog/").content.decode()
    detail = admin_browser.get(f"/admin/carts/abandonmentlog/{log.pk}/change/").content.decode()

    assert f'href="/admin/carts/cart/{log.cart_id}/change/"' in listing
    assert f'href="/admin/carts/cart/{log.cart_id}/change/"' in detail
    assert 'name="_save"' not in detail
    assert admin_browser.get("/admin/carts/abandonmentlog/add/").status_code == 403
    assert Cart.objects.count() == 1


def test_the_admin_shows_the_scheduler_jobs_and_runs(admin_browser):
    index = admin_browser.get("/admin/").content.decode()

    assert re.search(r'href="/admin/django_apscheduler/djangojob/"', index)
    assert admin_browser.get("/admin/django_apscheduler/djangojob/").status_code == 200
    assert admin_browser.get("/admin/django_apscheduler/djangojobexecution/").status_code == 200
