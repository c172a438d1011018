"""The report's API shapes: the query of /cart/report and of the metrics, the rows, the metrics."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from carts.models import Cart
from core.fields import PeriodBoundField

from ..selectors import ReportSummary

MONEY = {"max_digits": 16, "decimal_places": 2, "min_value": 0}
RATE = {"max_digits": 6, "decimal_places": 4, "allow_null": True, "min_value": 0}


def ensure_period_order(since, until) -> None:
    if since is not None and until is not None and since >= until:
        raise serializers.ValidationError({"until": ["Must be after since."]})


class PeriodQuery(serializers.Serializer):
    since = PeriodBoundField(required=False, help_text="Abandoned at or after (ISO 8601 date or date-time).")
    until = PeriodBoundField(
        required=False, end_of_day=True, help_text="Abandoned before (a date includes that whole day)."
    )

    def validate(self, attrs):
        ensure_period_order(attrs.get("since"), attrs.get("until"))
        return attrs


class ReportQuery(PeriodQuery):
    status = serializers.ChoiceField(choices=Cart.Status.choices, required=False, help_text="Current status.")


class ReportRowSerializer(serializers.Serializer):
    cart_id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    email = serializers.EmailField()
    status = serializers.ChoiceField(choices=Cart.Status.choices)
    last_updated = serializers.DateTimeField()
    abandoned_at = serializers.DateTimeField()
    item_count = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    recovered = serializers.BooleanField()


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

    @extend_schema_field(RecoveredBySourceSerializer)
    def get_recovered_via_email_link(self, summary: ReportSummary) -> dict:
        return RecoveredBySourceSerializer(
            {"carts": summary.recovered_via_email, "revenue": summary.recovered_via_email_revenue}
        ).data

    @extend_schema_field(RecoveredBySourceSerializer)
    def get_recovered_on_their_own(self, summary: ReportSummary) -> dict:
        return RecoveredBySourceSerializer(
            {"carts": summary.recovered_on_their_own, "revenue": summary.recovered_on_their_own_revenue}
        ).data
