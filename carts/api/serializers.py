from decimal import Decimal

from django.conf import settings
from rest_framework import serializers

from carts.models import AbandonmentLog, Cart, CartItem
from core.fields import StrictCharField, StrictIdField, StrictIntegerField


class CartAddInput(serializers.Serializer):
    user_id = StrictIdField(required=False, help_text="Whose cart; defaults to the caller. Staff may name anyone.")
    item_id = StrictIdField()

    def get_fields(self):
        # The cap is a setting: the field is made with its value when the serializer is, so the check and the
        # schema's ``maximum`` both say CART_MAX_QUANTITY.
        fields = super().get_fields()
        fields["quantity"] = StrictIntegerField(
            required=False,
            default=1,
            min_value=1,
            max_value=settings.CART_MAX_QUANTITY,
            help_text="Units to add (the line may hold at most CART_MAX_QUANTITY in all).",
        )
        return fields


class CartRemoveInput(serializers.Serializer):
    cart_id = StrictIdField()
    item_id = StrictIdField()
    quantity = StrictIntegerField(
        required=False, min_value=1, max_value=2**31 - 1, help_text="How many to remove; all of them if omitted."
    )


class CartCheckoutInput(serializers.Serializer):
    cart_id = StrictIdField()
    coupon = StrictCharField(
        max_length=32, required=False, allow_blank=True, help_text="A reminder's coupon code (optional)."
    )


class CartViewQuery(serializers.Serializer):
    user_id = StrictIdField(required=False, help_text="Whose cart; defaults to the caller. Staff may name anyone.")


# Money the answers carry, with the bounds the schema states (core/schema.py): a price is at least 0.01 (the database
# refuses less), a total is never negative.
PRICE = {"max_digits": 10, "decimal_places": 2, "min_value": Decimal("0.01")}
TOTAL = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0.00")}


class CartLineSerializer(serializers.ModelSerializer):
    item_name = serializers.CharField(source="item.name", read_only=True)
    price = serializers.DecimalField(source="unit_price", **PRICE, read_only=True)
    line_total = serializers.DecimalField(**{**TOTAL, "min_value": Decimal("0.01")}, read_only=True)

    class Meta:
        model = CartItem
        fields = ["item_id", "item_name", "price", "quantity", "line_total"]


class CartViewOutput(serializers.ModelSerializer):
    """The seed's cart view: the cart, its lines and total."""

    cart_id = serializers.IntegerField(source="id", read_only=True)
    items = CartLineSerializer(source="lines", many=True, read_only=True)
    total = serializers.DecimalField(**TOTAL, read_only=True)

    class Meta:
        model = Cart
        fields = ["cart_id", "status", "items", "total", "last_updated"]


class CartSerializer(CartViewOutput):
    """A cart as the REST resource shows it: the seed's view plus its life-cycle timestamps.

    ``item_count`` and ``total`` are worked out from the lines in the answer. The list reads the carts and their
    lines in two statements (the prefetch), and an add or remove committed between them would otherwise show a
    total that is not the sum of the lines beside it. (The stored figures equal the lines' at every commit;
    ``check_integrity`` verifies it.)"""

    def to_representation(self, cart):
        data = super().to_representation(cart)
        data["item_count"] = sum(line["quantity"] for line in data["items"])
        data["total"] = self.fields["total"].to_representation(
            sum((Decimal(line["line_total"]) for line in data["items"]), Decimal("0.00"))
        )
        return data

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
            "recovery_group",
            "checked_out_at",
            "discount",
            "paid",
        ]


class CartAddOutput(serializers.Serializer):
    message = serializers.CharField()
    cart_id = serializers.IntegerField()
    status = serializers.CharField()
    item_id = serializers.IntegerField()
    quantity = serializers.IntegerField(help_text="The line's quantity after the add.")
    item_count = serializers.IntegerField()
    total = serializers.DecimalField(**TOTAL)


class CartRemoveOutput(serializers.Serializer):
    message = serializers.CharField()
    cart_id = serializers.IntegerField()
    item_id = serializers.IntegerField()
    quantity = serializers.IntegerField(help_text="What is left of the line; 0 when it was removed.")
    item_count = serializers.IntegerField()
    total = serializers.DecimalField(**TOTAL)


class CartCheckoutOutput(serializers.Serializer):
    message = serializers.CharField()
    cart_id = serializers.IntegerField()
    total = serializers.DecimalField(**TOTAL, help_text="The cart's total.")
    discount = serializers.DecimalField(**TOTAL, help_text="What the coupon took off.")
    paid = serializers.DecimalField(**TOTAL, help_text="What the shopper pays: the total less the discount.")


class AbandonmentLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = AbandonmentLog
        fields = ["id", "cart_id", "abandoned_at", "item_count", "total"]
