"""/cart/abandoned (the HTML report), /cart/report (JSON/CSV) and /api/report/metrics/."""

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from carts.models import Cart
from tests.carts.factories import CartFactory
from tests.helpers import client_for, figures_rebuilt
from tests.recovery.factories import RecoveryEmailFactory
from tests.reports.fixtures import NOVEMBER, NOVEMBER_ROWS, at, build_month
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def month():
    return build_month()


@pytest.fixture
def staff_browser(staff) -> Client:
    browser = Client()
    browser.force_login(staff)
    return browser


def table_cart_ids(html: str) -> list[int]:
    body = html.split('id="report-table"', 1)[1].split("</table>", 1)[0]
    return [int(cart_id) for cart_id in re.findall(r">#(\d+)</a>", body)]


def figure(html: str, name: str) -> str:
    match = re.search(rf'id="figure-{name}">[^<]*<span class="figure">([^<]*)</span>', html)
    assert match, name
    return unescape(match.group(1))


def csv_link(html: str) -> str:
    return unescape(re.search(r'href="([^"]*)" id="report-csv-link"', html).group(1))


def streamed(response) -> str:
    return b"".join(response.streaming_content).decode()


# --- access --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "shopper"])
def test_the_report_page_sends_non_staff_to_the_admin_login(who, shopper):
    browser = Client()
    if who == "shopper":
        browser.force_login(shopper)

    response = browser.get("/cart/abandoned")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/cart/abandoned")


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("shopper", 403)])
def test_report_json_and_metrics_are_for_staff_only(who, status, shopper):
    client = client_for(shopper if who == "shopper" else None)

    assert client.get("/cart/report").status_code == status
    assert client.get("/api/report/metrics/").status_code == status


def test_the_admin_index_links_to_the_report(staff_browser):
    response = staff_browser.get("/admin/")

    assert 'href="/cart/abandoned"' in response.content.decode()


# --- the page ------------------------------------------------------------------------------------------------


def test_the_page_shows_the_period_figures_chart_and_table(month, staff_browser):
    RecoveryEmailFactory(cart=month.carts["c"], step=1, status="sent")
    RecoveryEmailFactory(cart=month.carts["c"], step=2, status="sent")

    response = staff_browser.get("/cart/abandoned", NOVEMBER)
    html = response.content.decode()

    assert response.status_code == 200
    assert '<header id="header">' in html  # the admin's look
    assert figure(html, "abandoned") == "7"
    assert figure(html, "abandonment-rate") == "87.5 %"
    assert figure(html, "revenue-left") == "USD 65.00"
    assert figure(html, "recovered") == "2"
    assert figure(html, "recovered-revenue") == "USD 90.00"
    assert figure(html, "recovery-rate") == "28.6 %"
    assert figure(html, "via-email") == "1"
    assert figure(html, "on-their-own") == "1"
    assert html.count('<g class="day"') == 30
    assert 'data-day="2026-11-05" data-abandoned="2" data-recovered="0"' in html
    assert 'data-day="2026-11-20" data-abandoned="1" data-recovered="1"' in html
    assert table_cart_ids(html) == month.ids(*NOVEMBER_ROWS)
    row_c = html.split(f">#{month.carts['c'].pk}</a>", 1)[1].split("</tr>", 1)[0]
    assert '<td class="number" data-label="Emails sent">2</td>' in row_c
    assert "Recovered, checked out (via email link)" in row_c
    row_d = html.split(f">#{month.carts['d'].pk}</a>", 1)[1].split("</tr>", 1)[0]
    assert "Open again, not bought yet (came back on their own)" in row_d  # not counted as recovered
    assert 'data-day="2026-11-12" data-abandoned="1" data-recovered="0"' in html


def test_the_page_without_dates_shows_the_last_30_days_and_says_so_in_the_csv_link(staff_browser):
    now = timezone.now()
    recent = CartFactory(status=Cart.Status.ABANDONED, abandoned_at=now - timedelta(days=1))
    CartFactory(status=Cart.Status.ABANDONED, abandoned_at=now - timedelta(days=31))
    since, until = (timezone.localdate(now) - timedelta(days=29)).isoformat(), timezone.localdate(now).isoformat()

    html = staff_browser.get("/cart/abandoned").content.decode()

    assert table_cart_ids(html) == [recent.pk]
    assert f'name="since" value="{since}"' in html
    assert csv_link(html) == f"/cart/report?since={since}&until={until}&format=csv"


def test_cleared_dates_mean_all_time(month, staff_browser):
    html = staff_browser.get("/cart/abandoned", {"since": "", "until": "", "status": ""}).content.decode()

    assert len(table_cart_ids(html)) == 9  # every cart ever abandoned: November's 7, h and j
    assert csv_link(html) == "/cart/report?format=csv"


def test_the_csv_link_exports_exactly_the_filtered_rows(month, staff_browser):
    html = staff_browser.get("/cart/abandoned", {**NOVEMBER, "status": "abandoned"}).content.decode()

    response = staff_browser.get(csv_link(html))
    rows = list(csv.DictReader(io.StringIO(streamed(response))))

    assert response["Content-Type"].startswith("text/csv")
    assert [int(row["cart_id"]) for row in rows] == table_cart_ids(html) == month.ids("l", "b", "a", "k")
    assert rows[0] == {
        "cart_id": str(month.carts["l"].pk),
        "user_id": str(month.carts["l"].user_id),
        "email": month.carts["l"].user.email,
        "status": "abandoned",
        "last_updated": "2026-11-08T00:00:00+00:00",
        "abandoned_at": "2026-11-08T00:00:00+00:00",
        "item_count": "1",
        "total": "5.00",
        "discount": "0.00",
        "paid": "",
        "currency": "USD",
        "recovered": "false",
        "recovery_source": "returned",  # it came back once, then was abandoned again
        "recovery_group": "",
        "emails_sent": "0",
        "coupon": "",
    }


def test_pages_hold_50_carts_and_page_links_keep_the_filters(staff_browser):
    moment = timezone.now() - timedelta(hours=1)
    carts = [CartFactory(status=Cart.Status.ABANDONED, abandoned_at=moment - timedelta(minutes=n)) for n in range(51)]
    CartFactory(status=Cart.Status.CHECKED_OUT, abandoned_at=moment, checked_out_at=moment)  # filtered out
    filters = {"since": "", "until": "", "status": "abandoned"}

    first = staff_browser.get("/cart/abandoned", filters).content.decode()
    second = staff_browser.get("/cart/abandoned", {**filters, "page": 2}).content.decode()

    assert table_cart_ids(first) == [cart.pk for cart in carts[:50]]
    assert table_cart_ids(second) == [carts[50].pk]
    assert 'href="?since=&amp;until=&amp;status=abandoned&amp;search=&amp;page=2"' in first
    assert "Page 1 of 2 (51 carts" in first


def test_bad_dates_show_an_error_not_a_server_error(staff_browser):
    response = staff_browser.get("/cart/abandoned", {"since": "yesterday", "status": "lost"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="report-errors"' in html
    assert "since:" in html
    assert "status:" in html


def test_user_data_on_the_page_is_escaped(staff_browser):
    user = UserFactory(email='mallory"<script>alert(1)</script>@example.com')
    CartFactory(user=user, status=Cart.Status.ABANDONED, abandoned_at=timezone.now())

    html = staff_browser.get("/cart/abandoned").content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def bulk_abandoned_carts(count: int, *, prefix: str = "bulk") -> None:
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(email=f"{prefix}{n}@example.com", name=f"Bulk {n}", password="!") for n in range(count)]
    )
    now = timezone.now()
    Cart.objects.bulk_create(
        [
            Cart(
                user=user,
                status=Cart.Status.ABANDONED if n % 3 else Cart.Status.CHECKED_OUT,
                abandoned_at=now - timedelta(minutes=n),
                recovered_at=None if n % 3 else now,
                checked_out_at=None if n % 3 else now,
                item_count=2,
                total=Decimal("19.90"),
            )
            for n, user in enumerate(users)
        ]
    )
    figures_rebuilt()  # written in bulk, not through the services


def test_the_page_runs_the_same_number_of_queries_for_5_or_500_carts(staff_browser):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_browser.get("/cart/abandoned").status_code == 200
        return len(captured)

    bulk_abandoned_carts(5)
    with_5 = queries()
    bulk_abandoned_carts(495, prefix="more")
    with_500 = queries()

    assert with_5 == with_500 <= 8


# --- /cart/report --------------------------------------------------------------------------------------------


def test_report_json_lists_the_period_newest_abandonment_first(month, staff_client):
    response = staff_client.get("/cart/report", NOVEMBER)
    rows = json.loads(streamed(response))

    assert response.status_code == 200
    assert response.streaming
    assert [row["cart_id"] for row in rows] == month.ids(*NOVEMBER_ROWS)
    assert rows[0]["total"] == "40.00"
    assert rows[0]["recovered"] is True


@pytest.mark.parametrize(
    "period",
    [
        {"since": "2026-11-05", "until": "2026-11-20"},
        {"since": "20261105", "until": "20261120"},  # ISO 8601's basic format
        {"since": "2026-W45-4", "until": "2026-W47-5"},  # week dates: Thursday 5 and Friday 20 November
    ],
)
def test_every_iso_form_of_a_date_means_that_whole_day(month, staff_client, period):
    rows = json.loads(streamed(staff_client.get("/cart/report", period)))

    # "until" includes the whole 20th, when cart e was abandoned
    assert [row["cart_id"] for row in rows] == month.ids("e", "d", "c", "l", "b", "a")


@pytest.mark.parametrize("until", ["2026-11-05", "2026-11-05T23:59:59"])
def test_dates_and_date_times_without_an_offset_are_read_in_the_shop_time_zone(staff_client, settings, until):
    settings.TIME_ZONE = "Asia/Kolkata"
    CartFactory(status=Cart.Status.ABANDONED, abandoned_at=at(11, 4, 18))  # 23:30 on the 4th in Kolkata
    fifth = CartFactory(status=Cart.Status.ABANDONED, abandoned_at=at(11, 4, 20))  # 01:30 on the 5th
    CartFactory(status=Cart.Status.ABANDONED, abandoned_at=at(11, 5, 19))  # 00:30 on the 6th

    response = staff_client.get("/cart/report", {"since": "2026-11-05", "until": until})

    assert response.status_code == 200
    assert [row["cart_id"] for row in json.loads(streamed(response))] == [fifth.pk]


def test_report_without_filters_lists_every_cart_ever_abandoned(month, staff_client):
    rows = json.loads(streamed(staff_client.get("/cart/report")))

    assert {row["cart_id"] for row in rows} == set(month.ids(*NOVEMBER_ROWS, "h", "j"))


def test_report_csv_has_a_header_and_the_same_rows(month, staff_client):
    response = staff_client.get("/cart/report", {**NOVEMBER, "format": "csv"})
    lines = streamed(response).splitlines()

    assert response.streaming
    assert lines[0] == (
        "cart_id,user_id,email,status,last_updated,abandoned_at,item_count,total,discount,paid,currency,recovered,"
        "recovery_source,recovery_group,emails_sent,coupon"
    )
    assert len(lines) == 1 + 7


@pytest.mark.parametrize(
    "params", [{"since": "nope"}, {"status": "lost"}, {"since": "2026-11-02", "until": "2026-11-01"}]
)
def test_report_refuses_bad_filters_with_400(params, staff_client):
    response = staff_client.get("/cart/report", params)

    assert response.status_code == 400
    assert set(response.json()) & {"since", "until", "status"}


def test_report_streams_in_a_constant_number_of_queries(staff_client, django_assert_max_num_queries):
    bulk_abandoned_carts(300)

    with django_assert_max_num_queries(3):
        rows = json.loads(streamed(staff_client.get("/cart/report")))

    assert len(rows) == 300


# --- /api/report/metrics/ ------------------------------------------------------------------------------------


def test_metrics_give_the_period_figures_as_json(month, staff_client):
    response = staff_client.get("/api/report/metrics/", NOVEMBER)

    assert response.status_code == 200
    assert response.json() == {
        "since": "2026-11-01T00:00:00Z",
        "until": "2026-12-01T00:00:00Z",
        "currency": "USD",
        "carts_abandoned": 7,
        "carts_checked_out_never_abandoned": 1,
        "carts_ended": 8,
        "abandonment_rate": "0.8750",
        "carts_still_abandoned": 4,
        "revenue_left_in_abandoned_carts": "65.00",
        "carts_recovered": 2,
        "carts_came_back_not_bought": 1,
        "revenue_recovered": "90.00",
        "recovery_rate": "0.2857",
        "recovered_via_email_link": {"carts": 1, "revenue": "50.00"},
        "recovered_on_their_own": {"carts": 1, "revenue": "40.00"},
        "discounts_given": "0.00",
        "steps": [],  # no reminder was sent in November
        "holdout": {
            "treated": {"abandoned": 0, "recovered": 0, "recovery_rate": None, "revenue_per_abandoned_cart": None},
            "holdout": {"abandoned": 0, "recovered": 0, "recovery_rate": None, "revenue_per_abandoned_cart": None},
            "enough_data": False,
            "lift": None,
            "lift_ci_low": None,
            "lift_ci_high": None,
            "method": "Newcombe hybrid score interval (Wilson), 95 %",
            "incremental_revenue": None,
            "summary": (
                "Not enough data yet: at least 30 abandoned carts are needed in each group (treated 0, holdout 0)."
            ),
        },
    }


def test_metrics_default_to_the_last_30_days_and_have_null_rates_when_empty(staff_client):
    data = staff_client.get("/api/report/metrics/").json()
    today = timezone.localdate()

    assert data["since"].startswith((today - timedelta(days=29)).isoformat())
    assert data["until"].startswith((today + timedelta(days=1)).isoformat())
    assert (data["carts_abandoned"], data["abandonment_rate"], data["recovery_rate"]) == (0, None, None)


def test_metrics_refuse_a_bad_period(staff_client):
    response = staff_client.get("/api/report/metrics/", {"since": "2026-13-01"})

    assert response.status_code == 400
    assert "since" in response.json()


def test_a_period_of_centuries_keeps_the_chart_to_the_days_with_data(staff_browser, django_assert_max_num_queries):
    now = timezone.now()
    for abandoned_at in (now - timedelta(days=800), now - timedelta(days=1)):
        CartFactory(status=Cart.Status.ABANDONED, abandoned_at=abandoned_at, last_updated=abandoned_at)

    with django_assert_max_num_queries(12):
        response = staff_browser.get("/cart/abandoned?since=1900-01-01&until=2100-12-31")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="bar-abandoned"') <= 366
    assert 'id="chart-truncated"' in html
    assert len(table_cart_ids(html)) == 2


def test_the_admin_cart_page_loads_its_lines_items_in_one_query(staff_browser, item):
    from tests.carts.factories import make_cart
    from tests.catalog.factories import ItemFactory

    few = make_cart(lines=[(ItemFactory(), 1) for _ in range(2)])
    many = make_cart(lines=[(ItemFactory(), 1) for _ in range(12)])

    def queries(cart):
        with CaptureQueriesContext(connection) as captured:
            assert staff_browser.get(f"/admin/carts/cart/{cart.pk}/change/").status_code == 200
        return len(captured)

    queries(few)  # the first admin page of a test also fills per-process caches (content types)
    assert queries(many) == queries(few)
