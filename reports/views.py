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

from .chart import build_chart
from .forms import ReportFilterForm
from .selectors import abandoned_carts, abandoned_carts_per_day, emails_sent_by_cart, report_summary

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
    summary = report_summary(filters=filters)
    series = abandoned_carts_per_day(filters=filters)
    rows = _TableRows(abandoned_carts(filters=filters), count=summary.count_for_status(filters.status))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    carts = page.object_list
    sent = emails_sent_by_cart(cart_ids=[cart.pk for cart in carts])
    for cart in carts:
        cart.emails_sent = sent.get(cart.pk, 0)
    values = {name: form.data[name] for name in ("since", "until", "status")}
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
                "via_email_revenue": format_money(summary.recovered_via_email_revenue),
                "on_their_own_revenue": format_money(summary.recovered_on_their_own_revenue),
            },
            "chart": build_chart(series),
            "page_obj": page,
            "carts": carts,
            "page_query": urlencode(values),
            "csv_url": f"{reverse('seed-cart-report')}?{csv_query}",
            "statuses": form.fields["status"].choices,
            "currency": settings.CART_CURRENCY,
            "time_zone": timezone.get_current_timezone_name(),
        },
    )
