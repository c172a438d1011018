"""The report's figures against hand-computed expectations (see tests/carts/report_fixtures.py)."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from carts import services
from carts.models import Cart
from reports.chart import build_chart
from reports.selectors import (
    ReportFilters,
    abandoned_cart_rows,
    abandoned_carts_per_day,
    default_period,
    emails_sent_by_cart,
    period_bounds,
    report_summary,
)
from tests.carts.factories import CartFactory, make_cart
from tests.helpers import figures_rebuilt
from tests.recovery.factories import RecoveryEmailFactory
from tests.reports.fixtures import NOVEMBER_ROWS, at, build_month

pytestmark = pytest.mark.django_db


def period(since: date, until: date, status: str | None = None) -> ReportFilters:
    start, end = period_bounds(since=since, until=until)
    return ReportFilters(since=start, until=end, status=status)


NOVEMBER = period(date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture
def month():
    return build_month()


def test_november_figures_match_the_hand_computed_ones(month):
    summary = report_summary(filters=NOVEMBER)

    assert summary.abandoned == 7
    assert summary.checked_out_never_abandoned == 1
    assert summary.ended == 8
    assert summary.abandonment_rate == Decimal("0.8750")
    assert summary.still_abandoned == 4
    assert summary.revenue_left == Decimal("65.00")
    assert summary.recovered == 2  # checked out after coming back: c and e
    assert summary.came_back_not_bought == 1  # d: back in its cart, nothing bought yet
    assert summary.recovered_revenue == Decimal("90.00")
    assert summary.recovery_rate == Decimal("0.2857")
    assert (summary.recovered_via_email, summary.recovered_via_email_revenue) == (1, Decimal("50.00"))
    assert (summary.recovered_on_their_own, summary.recovered_on_their_own_revenue) == (1, Decimal("40.00"))


def test_a_period_without_carts_has_zero_figures_and_no_rates(month):
    summary = report_summary(filters=period(date(2026, 9, 1), date(2026, 9, 30)))

    assert (summary.abandoned, summary.ended, summary.recovered) == (0, 0, 0)
    assert summary.revenue_left == summary.recovered_revenue == Decimal("0.00")
    assert summary.abandonment_rate is None
    assert summary.recovery_rate is None
    assert abandoned_carts_per_day(filters=period(date(2026, 9, 1), date(2026, 9, 30))).max_abandoned == 0


def test_a_period_with_only_checked_out_carts_has_a_zero_abandonment_rate_and_no_recovery_rate(month):
    summary = report_summary(filters=period(date(2026, 10, 15), date(2026, 10, 22)))  # g only

    assert (summary.abandoned, summary.checked_out_never_abandoned) == (0, 1)
    assert summary.abandonment_rate == Decimal("0")
    assert summary.recovery_rate is None


def test_a_cart_recovered_in_a_later_period_counts_in_the_period_it_was_abandoned(month):
    october = report_summary(filters=period(date(2026, 10, 1), date(2026, 10, 31)))
    december = report_summary(filters=period(date(2026, 12, 1), date(2026, 12, 31)))

    # h: abandoned in October, back and checked out in November -> October's recovery, October's revenue.
    assert (october.abandoned, october.recovered, october.recovered_revenue) == (1, 1, Decimal("70.00"))
    assert october.recovery_rate == Decimal("1.0000")
    assert october.abandonment_rate == Decimal("0.5000")  # h abandoned, g checked out without abandonment
    # e came back on Dec 3 but belongs to November; j, abandoned on Dec 1 at 00:00, is December's only cart.
    assert (december.abandoned, december.recovered, december.checked_out_never_abandoned) == (1, 0, 0)
    assert december.revenue_left == Decimal("8.00")


def test_the_period_includes_since_and_excludes_until(month):
    rows = list(abandoned_cart_rows(filters=NOVEMBER))

    assert [row["cart_id"] for row in rows] == month.ids(*NOVEMBER_ROWS)  # k (Nov 1 00:00) in, j (Dec 1) out


def test_rows_say_whether_the_cart_was_recovered_checked_out_after_its_latest_abandonment(month):
    recovered = {row["cart_id"]: row["recovered"] for row in abandoned_cart_rows(filters=NOVEMBER)}

    # d came back but bought nothing: not recovered (the contract: "checked out with recovered_at set")
    assert recovered == dict.fromkeys(month.ids("c", "e"), True) | dict.fromkeys(
        month.ids("k", "a", "b", "l", "d"), False
    )


def test_the_status_filter_narrows_the_rows_and_the_summary_counts_them(month):
    still_abandoned = ReportFilters(since=NOVEMBER.since, until=NOVEMBER.until, status=Cart.Status.ABANDONED)
    rows = list(abandoned_cart_rows(filters=still_abandoned))
    summary = report_summary(filters=still_abandoned)

    assert [row["cart_id"] for row in rows] == month.ids("l", "b", "a", "k")
    assert summary.count_for_status(Cart.Status.ABANDONED) == 4
    assert summary.count_for_status(Cart.Status.CHECKED_OUT) == 2
    assert summary.count_for_status(Cart.Status.ACTIVE) == 1
    assert summary.abandoned == 7  # the figures cover the whole period


def test_per_day_series_lists_every_day_with_abandoned_and_recovered(month):
    series = abandoned_carts_per_day(filters=NOVEMBER)
    by_day = {day.day: (day.abandoned, day.recovered) for day in series.days}

    assert len(series.days) == 30
    assert series.days[0].day == date(2026, 11, 1)
    assert series.days[-1].day == date(2026, 11, 30)
    assert {day: counts for day, counts in by_day.items() if counts != (0, 0)} == {
        date(2026, 11, 1): (1, 0),
        date(2026, 11, 5): (2, 0),
        date(2026, 11, 8): (1, 0),
        date(2026, 11, 10): (1, 1),
        date(2026, 11, 12): (1, 0),  # d came back, bought nothing
        date(2026, 11, 20): (1, 1),
    }


@pytest.mark.parametrize(
    ("zone", "per_day"),
    [
        ("UTC", {date(2026, 11, 4): 1, date(2026, 11, 5): 1}),
        ("America/New_York", {date(2026, 11, 4): 2}),  # 21:00 and 15:00 on the 4th
        ("Asia/Kolkata", {date(2026, 11, 5): 2}),  # a half-hour offset: 07:30 and 01:30 on the 5th
    ],
)
def test_days_are_counted_in_the_shop_time_zone(zone, per_day):
    CartFactory(status=Cart.Status.ABANDONED, abandoned_at=at(11, 5, 2))
    CartFactory(status=Cart.Status.ABANDONED, abandoned_at=at(11, 4, 20))
    figures_rebuilt()
    with timezone.override(zone):
        series = abandoned_carts_per_day(filters=period(date(2026, 11, 1), date(2026, 11, 10)))

    assert {item.day: item.abandoned for item in series.days if item.abandoned} == per_day


def test_the_series_spans_the_carts_when_the_period_is_open(month):
    series = abandoned_carts_per_day(filters=ReportFilters())

    assert (series.days[0].day, series.days[-1].day) == (date(2026, 10, 25), date(2026, 12, 1))
    assert series.max_abandoned == 2


def test_the_default_period_is_the_last_30_days_today_included(clock):
    since, until = default_period(now=at(11, 28, 15))

    assert (since, until) == (date(2026, 10, 30), date(2026, 11, 28))
    assert period_bounds(since=since, until=until) == (at(10, 30), at(11, 29))


def test_the_default_period_ends_on_the_shop_s_today_not_utc_s(settings):
    settings.TIME_ZONE = "America/New_York"

    since, until = default_period(now=at(11, 28, 2))  # 21:00 on the 27th in New York

    assert (since, until) == (date(2026, 10, 29), date(2026, 11, 27))


def test_a_period_runs_from_the_shop_s_midnight_to_midnight_across_a_dst_change(settings):
    settings.TIME_ZONE = "America/New_York"

    bounds = period_bounds(since=date(2026, 11, 1), until=date(2026, 11, 30))

    assert bounds == (at(11, 1, 4), at(12, 1, 5))  # summer time until 1 November, winter time after


def test_a_cart_checked_out_after_an_abandonment_through_the_services_counts_as_recovered_revenue(item, clock):
    cart = make_cart(lines=[(item, 3)], status=Cart.Status.ABANDONED, abandoned_at=clock.now())
    figures_rebuilt()  # the abandonment, as the sweep would have counted it
    clock.advance(hours=2)
    services.cart_checkout(cart_id=cart.pk, user=None, now=clock.now())
    today = timezone.localdate(clock.now())

    summary = report_summary(filters=period(today, today))

    assert (summary.abandoned, summary.recovered, summary.came_back_not_bought) == (1, 1, 0)
    assert summary.recovered_revenue == Decimal("30.00")
    assert (summary.recovered_on_their_own, summary.recovered_via_email) == (1, 0)


def test_emails_sent_counts_only_sent_emails_of_the_given_carts():
    cart, other = CartFactory(status=Cart.Status.ABANDONED, abandoned_at=at(11, 1)), CartFactory()
    RecoveryEmailFactory(cart=cart, step=1, status="sent")
    RecoveryEmailFactory(cart=cart, step=2, status="sent")
    RecoveryEmailFactory(cart=cart, step=3, status="failed")
    RecoveryEmailFactory(cart=other, step=1, status="sent")

    assert emails_sent_by_cart(cart_ids=[cart.pk]) == {cart.pk: 2}
    assert emails_sent_by_cart(cart_ids=[]) == {}


def test_the_chart_scales_to_the_busiest_day_with_a_handful_or_thousands_of_carts():
    from reports.selectors import DailySeries, DayCount

    few = build_chart(DailySeries(days=[DayCount(date(2026, 11, 1), 3, 1), DayCount(date(2026, 11, 2), 0, 0)]))
    many = build_chart(DailySeries(days=[DayCount(date(2026, 11, n), 2_000 + n * 100, 700) for n in range(1, 31)]))

    assert [tick.label for tick in few.y_ticks] == ["0", "1", "2", "3"]
    assert few.bars[0].abandoned_height == few.plot_height  # the busiest day fills the chart
    assert [tick.label for tick in many.y_ticks] == ["0", "2,000", "4,000", "6,000"]
    assert all(0 < bar.abandoned_height <= many.plot_height for bar in many.bars)
    assert all(bar.recovered_height < bar.abandoned_height for bar in many.bars)
    assert len(many.x_ticks) <= 10
