from decimal import Decimal

from .models import Item


def item_create(*, name: str, price: Decimal, is_active: bool = True) -> Item:
    return Item.objects.create(name=name, price=price, is_active=is_active)
