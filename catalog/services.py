"""Use cases that change items. The seed route /item/add, POST/PUT/PATCH /api/items/ and the admin's forms end
here (the admin through the model form's save, which writes the same fields)."""

from decimal import Decimal

from .models import Item


def item_create(*, name: str, price: Decimal, is_active: bool = True) -> Item:
    return Item.objects.create(name=name, price=price, is_active=is_active)


def item_update(*, item: Item, **changes) -> Item:
    """Change an item's name, price or availability. A price change applies to lines added from now on (a line keeps
    the price it was added at: docs/contract.md)."""
    for field, value in changes.items():
        setattr(item, field, value)
    item.save(update_fields=list(changes))
    return item
