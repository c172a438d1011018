from decimal import Decimal

import factory
from django.utils import timezone

from carts.models import AbandonmentLog, Cart, CartItem
from tests.catalog.factories import ItemFactory
from tests.users.factories import UserFactory


class CartFactory(factory.django.DjangoModelFactory):
    """A cart row. Prefer ``make_cart`` (tests/carts/factories.py) when lines and totals matter."""

    class Meta:
        model = Cart

    user = factory.SubFactory(UserFactory)
    status = Cart.Status.ACTIVE
    created_at = factory.LazyFunction(timezone.now)
    last_updated = factory.LazyAttribute(lambda cart: cart.created_at)


class CartItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    item = factory.SubFactory(ItemFactory)
    quantity = 1
    unit_price = factory.LazyAttribute(lambda line: line.item.price)


class AbandonmentLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AbandonmentLog

    cart = factory.SubFactory(
        CartFactory, status=Cart.Status.ABANDONED, abandoned_at=factory.LazyFunction(timezone.now)
    )
    abandoned_at = factory.LazyAttribute(lambda log: log.cart.abandoned_at)
    item_count = factory.LazyAttribute(lambda log: log.cart.item_count)
    total = factory.LazyAttribute(lambda log: log.cart.total)


def make_cart(*, lines: list[tuple] = (), **fields) -> Cart:
    """A cart with lines [(item, quantity), ...] and item_count/total kept equal to them, as the services keep them."""
    cart = CartFactory(**fields)
    units, total = 0, Decimal("0.00")
    for item, quantity in lines:
        CartItemFactory(cart=cart, item=item, quantity=quantity, unit_price=item.price)
        units += quantity
        total += item.price * quantity
    if lines:
        Cart.objects.filter(pk=cart.pk).update(item_count=units, total=total)
        cart.refresh_from_db()
    return cart
