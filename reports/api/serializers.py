"""The report's API shapes: the query of /cart/report and of the metrics, the rows, the metrics."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from carts.models import Cart
from core.fields import PeriodBoundField, StrictCharField

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
    search = StrictCharField(
        max_length=254, required=False, help_text="Carts whose shopper's email contains this, or this cart number."
    )


class ReportRowSerializer(serializers.Serializer):
    """A row of /cart/report (JSON; the CSV has the same columns in the same order, booleans as true/false)."""

    cart_id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    email = serializers.EmailField()
    status = serializers.ChoiceField(choices=Cart.Status.choices)
    last_updated = serializers.DateTimeField()
    abandoned_at = serializers.DateTimeField()
    item_count = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    discount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, help_text="A coupon's discount at checkout."
    )
    paid = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, allow_null=True, help_text="Null until bought."
    )
    currency = serializers.CharField()
    recovered = serializers.BooleanField()
    recovery_source = serializers.ChoiceField(choices=[("", "Not back"), *Cart.RecoverySource.choices])
    recovery_group = serializers.ChoiceField(choices=[("", "Not drawn"), *Cart.RecoveryGroup.choices])
    emails_sent = serializers.IntegerField()
    coupon = serializers.CharField(help_text="The coupon code redeemed at checkout, if any.")


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
    revenue = serializers.DecimalField(**MONEY, help_text="What those carts paid.")


class StepFunnelSerializer(serializers.Serializer):
    step = serializers.IntegerField(help_text="The reminder's position.")
    sent = serializers.IntegerField(help_text="Emails of this step sent in the period.")
    clicked = serializers.IntegerField(help_text="Of those, how many had their recovery link used.")
    recovered = serializers.IntegerField(
        help_text="Carts bought after coming back, this step being the last reminder before they came back."
    )
    revenue = serializers.DecimalField(**MONEY, help_text="What those carts paid.")
    coupon_cost = serializers.DecimalField(**MONEY, help_text="The discounts given by this step's coupons.")


class GroupSerializer(serializers.Serializer):
    abandoned = serializers.IntegerField()
    recovered = serializers.IntegerField()
    recovery_rate = serializers.DecimalField(**RATE)
    revenue_per_abandoned_cart = serializers.DecimalField(**MONEY, allow_null=True)


class HoldoutSerializer(serializers.Serializer):
    treated = GroupSerializer()
    holdout = GroupSerializer()
    enough_data = serializers.BooleanField(
        help_text="At least 30 abandoned carts in each group; below that lift and interval are null."
    )
    lift = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True, help_text="Treated − holdout.")
    lift_ci_low = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True)
    lift_ci_high = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True)
    method = serializers.CharField()
    incremental_revenue = serializers.DecimalField(**MONEY, allow_null=True)
    summary = serializers.CharField()


class ReportMetricsSerializer(serializers.Serializer):
    """The metrics of a period: made from a reports.selectors.Report."""

    since = serializers.DateTimeField(source="summary.since", help_text="Start of the period (included).")
    until = serializers.DateTimeField(source="summary.until", help_text="End of the period (excluded).")
    currency = serializers.SerializerMethodField()
    carts_abandoned = serializers.IntegerField(
        source="summary.abandoned", help_text="Carts with abandoned_at in the period."
    )
    carts_checked_out_never_abandoned = serializers.IntegerField(source="summary.checked_out_never_abandoned")
    carts_ended = serializers.IntegerField(source="summary.ended", help_text="Abandoned + checked out never abandoned.")
    abandonment_rate = serializers.DecimalField(
        source="summary.abandonment_rate", **RATE, help_text="carts_abandoned / carts_ended (0..1)."
    )
    carts_still_abandoned = serializers.IntegerField(source="summary.still_abandoned")
    revenue_left_in_abandoned_carts = serializers.DecimalField(source="summary.revenue_left", **MONEY)
    carts_recovered = serializers.IntegerField(
        source="summary.recovered", help_text="Abandoned in the period, then came back and checked out."
    )
    carts_came_back_not_bought = serializers.IntegerField(
        source="summary.came_back_not_bought",
        help_text="Abandoned in the period, came back, not checked out (yet): not counted as recovered.",
    )
    revenue_recovered = serializers.DecimalField(
        source="summary.recovered_revenue", **MONEY, help_text="What the recovered carts paid."
    )
    discounts_given = serializers.DecimalField(
        source="summary.discounts", **MONEY, help_text="The coupons' discounts on the recovered carts."
    )
    recovery_rate = serializers.DecimalField(
        source="summary.recovery_rate", **RATE, help_text="carts_recovered / carts_abandoned (0..1)."
    )
    recovered_via_email_link = serializers.SerializerMethodField()
    recovered_on_their_own = serializers.SerializerMethodField()
    steps = StepFunnelSerializer(many=True, help_text="The funnel per reminder step, of the emails sent in the period.")
    holdout = HoldoutSerializer(help_text="Treated and holdout carts abandoned in the period, and the lift.")

    def get_currency(self, report) -> str:
        return settings.CART_CURRENCY

    @extend_schema_field(RecoveredBySourceSerializer)
    def get_recovered_via_email_link(self, report) -> dict:
        summary = report.summary
        return RecoveredBySourceSerializer(
            {"carts": summary.recovered_via_email, "revenue": summary.recovered_via_email_revenue}
        ).data

    @extend_schema_field(RecoveredBySourceSerializer)
    def get_recovered_on_their_own(self, report) -> dict:
        summary = report.summary
        return RecoveredBySourceSerializer(
            {"carts": summary.recovered_on_their_own, "revenue": summary.recovered_on_their_own_revenue}
        ).data
