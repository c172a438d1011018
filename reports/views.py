"""The report page for staff, /cart/abandoned, in the admin's look: figures, a chart per day, the table, a CSV link."""

from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from carts.models import Cart
from core.money import format_money

from .chart import build_chart, build_revenue_chart
from .forms import ReportFilterForm
from .selectors import abandoned_carts, abandoned_carts_per_day, emails_sent_by_cart, full_report

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


def _percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _points(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f} points"


def _step_row(step) -> dict:
    return {
        "step": step.step,
        "sent": step.sent,
        "clicked": step.clicked,
        "click_rate": _percent(step.click_rate),
        "recovered": step.recovered,
        "revenue": format_money(step.revenue),
        "coupon_cost": format_money(step.coupon_cost),
    }


def _holdout_rows(holdout) -> list[dict]:
    rows = []
    for key, label, group in (
        ("treated", "Treated (got reminders)", holdout.treated),
        ("holdout", "Holdout (no reminders)", holdout.holdout),
    ):
        per_cart = group.revenue_per_abandoned_cart
        rows.append(
            {
                "key": key,
                "label": label,
                "abandoned": group.abandoned,
                "recovered": group.recovered,
                "rate": _percent(group.recovery_rate),
                "per_cart": "—" if per_cart is None else format_money(per_cart),
            }
        )
    return rows


def _lift(holdout) -> dict:
    return {
        "points": _points(holdout.lift),
        "low": _points(holdout.lift_ci_low),
        "high": _points(holdout.lift_ci_high),
        "incremental": "—" if holdout.incremental_revenue is None else format_money(holdout.incremental_revenue),
    }


@staff_member_required
def abandoned_report_page(request):
    now = timezone.now()
    form = ReportFilterForm.for_page(request.GET, now=now)
    errors = {}
    if not form.is_valid():
        # The page still shows the default period, with the problem named above it.
        errors = {field: [str(message) for message in messages] for field, messages in form.errors.items()}
        form = ReportFilterForm.for_page({}, now=now)
        form.is_valid()
    filters = form.filters()
    report = full_report(filters=filters)
    summary = report.summary
    series = abandoned_carts_per_day(filters=filters)
    carts = abandoned_carts(filters=filters)
    # The table's size comes from the figures when no search narrows it (a COUNT over 900,000 rows costs more than
    # the whole page); a search counts its own, few, rows.
    count = carts.count() if filters.search else summary.count_for_status(filters.status)
    rows = _TableRows(carts, count=count)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    carts = page.object_list
    sent = emails_sent_by_cart(cart_ids=[cart.pk for cart in carts])
    for cart in carts:
        cart.emails_sent = sent.get(cart.pk, 0)
    values = {name: form.data[name] for name in ("since", "until", "status", "search")}
    csv_query = urlencode({**{name: value for name, value in values.items() if value}, "format": "csv"})
    return render(
        request,
        "reports/report.html",
        {
            **admin.site.each_context(request),
            "title": "Abandoned carts",
            "form": values,
            "errors": errors,
            "filters": filters,
            "summary": summary,
            "chart_truncated": series.truncated,
            "figures": {
                "abandonment_rate": _percent(summary.abandonment_rate),
                "recovery_rate": _percent(summary.recovery_rate),
                "revenue_left": format_money(summary.revenue_left),
                "recovered_revenue": format_money(summary.recovered_revenue),
                "discounts": format_money(summary.discounts),
                "via_email_revenue": format_money(summary.recovered_via_email_revenue),
                "on_their_own_revenue": format_money(summary.recovered_on_their_own_revenue),
            },
            "chart": build_chart(series),
            "revenue_chart": build_revenue_chart(series, money=format_money),
            "steps": [_step_row(step) for step in report.steps],
            "holdout": report.holdout,
            "holdout_rows": _holdout_rows(report.holdout),
            "lift": _lift(report.holdout),
            "page_obj": page,
            "carts": carts,
            "page_query": urlencode(values),
            "csv_url": f"{reverse('seed-cart-report')}?{csv_query}",
            "statuses": form.fields["status"].choices,
            "currency": settings.CART_CURRENCY,
            "time_zone": timezone.get_current_timezone_name(),
        },
    )
