"""GET /api/report/metrics/ — the report's summary figures as JSON, for dashboards. Staff only.

Same figures and definitions as the /cart/abandoned page (see carts/selectors.py); the period defaults to the last
30 days, like the page.
"""

from django.conf import settings
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from cartrecovery.api import IsStaff
from carts.api.serializers import PeriodBoundField, PeriodQuery, ensure_period_order
from carts.selectors import ReportFilters, ReportSummary, default_period, period_bounds, report_summary

MONEY = {"max_digits": 16, "decimal_places": 2}
RATE = {"max_digits": 6, "decimal_places": 4, "allow_null": True}


class ReportMetricsQuery(PeriodQuery):
    since = PeriodBoundField(
        required=False, help_text="Abandoned at or after (ISO 8601 date or date-time). Default: 29 days ago, 00:00."
    )
    until = PeriodBoundField(
        required=False,
        end_of_day=True,
        help_text="Abandoned before (a date includes that whole day). Default: the end of today.",
    )


class RecoveredBySourceSerializer(serializers.Serializer):
    carts = serializers.IntegerField()
    revenue = serializers.DecimalField(**MONEY, help_text="Total of those carts that are checked out.")


class ReportMetricsSerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="Start of the period (included).")
    until = serializers.DateTimeField(help_text="End of the period (excluded).")
    currency = serializers.SerializerMethodField()
    carts_abandoned = serializers.IntegerField(source="abandoned", help_text="Carts with abandoned_at in the period.")
    carts_checked_out_never_abandoned = serializers.IntegerField(source="checked_out_never_abandoned")
    carts_ended = serializers.IntegerField(source="ended", help_text="Abandoned + checked out never abandoned.")
    abandonment_rate = serializers.DecimalField(**RATE, help_text="carts_abandoned / carts_ended (0..1).")
    carts_still_abandoned = serializers.IntegerField(source="still_abandoned")
    revenue_left_in_abandoned_carts = serializers.DecimalField(source="revenue_left", **MONEY)
    carts_recovered = serializers.IntegerField(
        source="recovered", help_text="Abandoned in the period, then came back and checked out."
    )
    carts_came_back_not_bought = serializers.IntegerField(
        source="came_back_not_bought",
        help_text="Abandoned in the period, came back, not checked out (yet): not counted as recovered.",
    )
    revenue_recovered = serializers.DecimalField(source="recovered_revenue", **MONEY)
    recovery_rate = serializers.DecimalField(**RATE, help_text="carts_recovered / carts_abandoned (0..1).")
    recovered_via_email_link = serializers.SerializerMethodField()
    recovered_on_their_own = serializers.SerializerMethodField()

    def get_currency(self, summary: ReportSummary) -> str:
        return settings.CART_CURRENCY

    @extend_schema(responses=RecoveredBySourceSerializer)
    def get_recovered_via_email_link(self, summary: ReportSummary) -> dict:
        return RecoveredBySourceSerializer(
            {"carts": summary.recovered_via_email, "revenue": summary.recovered_via_email_revenue}
        ).data

    @extend_schema(responses=RecoveredBySourceSerializer)
    def get_recovered_on_their_own(self, summary: ReportSummary) -> dict:
        return RecoveredBySourceSerializer(
            {"carts": summary.recovered_on_their_own, "revenue": summary.recovered_on_their_own_revenue}
        ).data


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
    summary = report_summary(filters=metrics_filters(request.query_params, now=timezone.now()))
    return Response(ReportMetricsSerializer(summary).data)


urlpatterns = [path("metrics/", report_metrics, name="api-report-metrics")]
