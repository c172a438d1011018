"""Integrity lives in the database: these rows are refused even when code forgets to check."""

from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from carts.models import AbandonmentLog, Cart, CartItem
from catalog.models import Item
from recovery.models import RecoveryEmail
from tests.carts.factories import CartFactory, CartItemFactory, make_cart
from tests.recovery.factories import RecoveryEmailFactory
from tests.users.factories import UserFactory
from users.models import User

pytestmark = pytest.mark.django_db


def refused(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


@pytest.mark.parametrize("second_status", [Cart.Status.ACTIVE, Cart.Status.ABANDONED])
def test_a_user_has_at_most_one_open_cart(shopper, second_status):
    CartFactory(user=shopper, status=Cart.Status.ACTIVE)

    refused(lambda: CartFactory(user=shopper, status=second_status, abandoned_at=timezone.now()))


def test_checked_out_carts_do_not_count_as_open(shopper):
    CartFactory(user=shopper, status=Cart.Status.CHECKED_OUT, checked_out_at=timezone.now())
    CartFactory(user=shopper, status=Cart.Status.CHECKED_OUT, checked_out_at=timezone.now())

    CartFactory(user=shopper, status=Cart.Status.ACTIVE)

    assert Cart.objects.filter(user=shopper).count() == 3


def test_email_is_unique_whatever_its_case():
    UserFactory(email="ada@example.com")

    refused(lambda: User.objects.create(email="ADA@example.com", name="Ada again"))


def test_one_line_per_item_per_cart(item):
    cart = make_cart(lines=[(item, 1)])

    refused(lambda: CartItem.objects.create(cart=cart, item=item, quantity=1, unit_price=item.price))


@pytest.mark.parametrize("quantity", [0, 1_000_001])
def test_line_quantity_is_bounded(item, quantity):
    refused(lambda: CartItemFactory(item=item, quantity=quantity))


@pytest.mark.parametrize("price", [Decimal("0"), Decimal("-1")])
def test_prices_are_positive(price):
    refused(lambda: Item.objects.create(name="Free", price=price))


def test_one_abandonment_log_per_cart_ever(item):
    cart = make_cart(lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=timezone.now())
    AbandonmentLog.objects.create(cart=cart, abandoned_at=timezone.now(), item_count=1, total=item.price)

    refused(
        lambda: AbandonmentLog.objects.create(cart=cart, abandoned_at=timezone.now(), item_count=1, total=item.price)
    )


def test_status_and_timestamps_agree(shopper):
    refused(lambda: CartFactory(user=shopper, status="lost"))
    refused(lambda: CartFactory(user=shopper, status=Cart.Status.ABANDONED, abandoned_at=None))
    refused(lambda: CartFactory(user=shopper, status=Cart.Status.CHECKED_OUT, checked_out_at=None))


def test_one_recovery_email_per_cart_and_step():
    email = RecoveryEmailFactory(step=1)

    refused(lambda: RecoveryEmail.objects.create(cart=email.cart, step=1, planned_at=timezone.now()))


def test_a_cart_total_must_fit_its_column():
    # SQLite would store it and then fail every read of the cart (decimal.InvalidOperation): the check constraint
    # refuses it there; PostgreSQL's numeric(14,2) refuses it before the constraint is evaluated.
    CartFactory(total=Decimal("999999999999.99"))

    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        CartFactory(total=Decimal("1000000000000.00"))
