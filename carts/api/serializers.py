from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cartrecovery.api import FIRST_YEAR, LAST_YEAR, StrictIdField, StrictIntegerField
from carts.models import AbandonmentLog, Cart, CartItem


class CartAddInput(serializers.Serializer):
    user_id = StrictIdField(required=False, help_text="Whose cart; defaults to the caller. Staff may name anyone.")
    item_id = StrictIdField()
    quantity = StrictIntegerField(required=False, default=1, min_value=1)

    def validate_quantity(self, value: int) -> int:
        if value > settings.CART_MAX_QUANTITY:
            raise serializers.ValidationError(
                f"Ensure this value is less than or equal to {settings.CART_MAX_QUANTITY}."
            )
        return value


class CartRemoveInput(serializers.Serializer):
    cart_id = StrictIdField()
    item_id = StrictIdField()
    quantity = StrictIntegerField(
        required=False, min_value=1, max_value=2**31 - 1, help_text="How many to remove; all of them if omitted."
    )


class CartCheckoutInput(serializers.Serializer):
    cart_id = StrictIdField()


class CartViewQuery(serializers.Serializer):
    user_id = StrictIdField(required=False, help_text="Whose cart; defaults to the caller. Staff may name anyone.")


class CartLineSerializer(serializers.ModelSerializer):
    item_name = serializers.CharField(source="item.name", read_only=True)
    price = serializers.DecimalField(source="unit_price", max_digits=10, decimal_places=2, read_only=True)
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = CartItem
        fields = ["item_id", "item_name", "price", "quantity", "line_total"]


class CartViewOutput(serializers.ModelSerializer):
    """The seed's cart view: the cart, its lines and total."""

    cart_id = serializers.IntegerField(source="id", read_only=True)
    items = CartLineSerializer(source="lines", many=True, read_only=True)

    class Meta:
        model = Cart
        fields = ["cart_id", "status", "items", "total", "last_updated"]


class CartSerializer(CartViewOutput):
    """A cart as the REST resource shows it: the seed's view plus its life-cycle timestamps."""

    class Meta(CartViewOutput.Meta):
        fields = [
            "cart_id",
            "user_id",
            "status",
            "items",
            "item_count",
            "total",
            "created_at",
            "last_updated",
            "abandoned_at",
            "recovered_at",
            "recovery_source",
            "checked_out_at",
        ]


class CartAddOutput(serializers.Serializer):
    message = serializers.CharField()
    cart_id = serializers.IntegerField()
    status = serializers.CharField()
    item_id = serializers.IntegerField()
    quantity = serializers.IntegerField(help_text="The line's quantity after the add.")
    item_count = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)


class CartRemoveOutput(serializers.Serializer):
    message = serializers.CharField()
    cart_id = serializers.IntegerField()
    item_id = serializers.IntegerField()
    quantity = serializers.IntegerField(help_text="What is left of the line; 0 when it was removed.")
    item_count = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)


class CartCheckoutOutput(serializers.Serializer):
    message = serializers.CharField()
    cart_id = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)


class AbandonmentLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = AbandonmentLog
        fields = ["id", "cart_id", "abandoned_at", "item_count", "total"]


@extend_schema_field(OpenApiTypes.STR)
class PeriodBoundField(serializers.Field):
    """An ISO 8601 date or date-time. A date means that whole day (``until`` is inclusive of it); a date-time
    without an offset is read in settings.TIME_ZONE."""

    default_error_messages = {
        "invalid": "Use an ISO 8601 date (2026-11-28) or date-time (2026-11-28T10:00:00Z).",
        "out_of_range": "Use a date between the years {first} and {last}.",
    }

    def __init__(self, *, end_of_day: bool = False, **kwargs):
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        from datetime import UTC, date, datetime, time, timedelta

        from django.utils import timezone

        if not isinstance(data, str) or len(data) > 40:
            self.fail("invalid")
        text = data.strip()
        # A date has no time part: no "T" nor space before one (2026-11-28, also 20261128 or 2026-W48-6).
        is_date = not any(separator in text for separator in "Tt ")
        try:
            if is_date:
                moment = datetime.combine(date.fromisoformat(text), time.min)
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.fail("invalid")
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            self.fail("out_of_range", first=FIRST_YEAR, last=LAST_YEAR)
        if is_date and self.end_of_day:
            moment += timedelta(days=1)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment.astimezone(UTC)

    def to_representation(self, value):
        return value.isoformat()


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
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    recovered = serializers.BooleanField()
