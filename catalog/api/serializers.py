from decimal import Decimal

from rest_framework import serializers

from catalog.models import Item
from core.fields import StrictCharField, StrictDecimalField

PRICE_FIELD = {"max_digits": 10, "decimal_places": 2, "min_value": Decimal("0.01")}


class ItemSerializer(serializers.ModelSerializer):
    name = StrictCharField(max_length=200)
    price = StrictDecimalField(**PRICE_FIELD)

    class Meta:
        model = Item
        fields = ["id", "name", "price"]


class ItemDetailSerializer(ItemSerializer):
    class Meta(ItemSerializer.Meta):
        fields = ["id", "name", "price", "is_active", "created_at"]
        read_only_fields = ["created_at"]


class ItemInput(serializers.Serializer):
    name = StrictCharField(max_length=200)
    price = StrictDecimalField(**PRICE_FIELD)


class ItemAddOutput(serializers.Serializer):
    message = serializers.CharField()
    id = serializers.IntegerField()
