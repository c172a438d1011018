from decimal import Decimal

import factory
from django.utils import timezone

from carts.figures import CartState, record_cart_change
from carts.models import AbandonmentLog, Cart, CartItem
from tests.catalog.factories import ItemFactory
from tests.users.factories import UserFactory


class CartFactory(factory.django.DjangoModelFactory):
    """A cart row. Prefer ``make_cart`` (tests/carts/factories.py) when lines and totals matter. Counted in the
    report's figures as the services would count it (carts/figures.py)."""

    class Meta:
        model = Cart

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        cart = super()._create(model_class, *args, **kwargs)
        cart.refresh_from_db()  # the values as stored (a date given as text becomes a date-time)
        record_cart_change(None, cart)
        return cart

    user = factory.SubFactory(UserFactory)
    status = Cart.Status.ACTIVE
    created_at = factory.LazyFunction(timezone.now)
    last_updated = factory.LazyAttribute(lambda cart: cart.created_at)
    total = Decimal("0.00")
    discount = Decimal("0.00")
    # What a checkout writes: the total less the discount (null until then).
    paid = factory.LazyAttribute(
        lambda cart: Decimal(cart.total) - Decimal(cart.discount) if cart.status == Cart.Status.CHECKED_OUT else None
    )


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
    before = CartState.of(cart)
    units, total = 0, Decimal("0.00")
    for item, quantity in lines:
        CartItemFactory(cart=cart, item=item, quantity=quantity, unit_price=item.price)
        units += quantity
        total += item.price * quantity
    if lines:
        Cart.objects.filter(pk=cart.pk).update(item_count=units, total=total)
        cart.refresh_from_db()
    if cart.status == Cart.Status.CHECKED_OUT and "paid" not in fields:
        # What the checkout writes: what was paid, the total less any discount.
        Cart.objects.filter(pk=cart.pk).update(paid=cart.total - cart.discount)
        cart.refresh_from_db()
    record_cart_change(before, cart)
    return cart
