"""Coupons at checkout: each rule is a 400 naming ``coupon`` that leaves the cart as it was; a code is redeemed once."""

from datetime import timedelta
from decimal import Decimal

import pytest

from carts import services
from carts.models import Cart, Coupon
from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory
from tests.helpers import client_for, run_together
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cart(shopper, clock):
    return make_cart(
        user=shopper, lines=[(ItemFactory(price=Decimal("25.00")), 2)], status=Cart.Status.ABANDONED,
        abandoned_at=clock.now(),
    )  # fmt: skip


def coupon_for(cart, clock, **fields) -> Coupon:
    values = {
        "code": "ABCD2346EFGH",
        "kind": Coupon.Kind.PERCENT,
        "value": Decimal("10"),
        "expires_at": clock.now() + timedelta(days=7),
    }
    return Coupon.objects.create(cart=cart, **(values | fields))


def checkout(user, cart, code):
    return client_for(user).post("/cart/checkout", {"cart_id": cart.pk, "coupon": code}, format="json")


@pytest.mark.parametrize(
    ("kind", "value", "discount", "paid"),
    [("percent", "10", "5.00", "45.00"), ("amount", "7.50", "7.50", "42.50"), ("amount", "80.00", "50.00", "0.00")],
)
def test_a_valid_coupon_takes_its_discount_and_the_answer_shows_total_discount_and_paid(
    shopper, cart, clock, kind, value, discount, paid
):
    coupon_for(cart, clock, kind=kind, value=Decimal(value))

    response = checkout(shopper, cart, "abcd-2346-efgh")  # as a person types it: case and dashes do not matter

    assert response.status_code == 200
    assert response.json() | {"message": None} == {
        "message": None, "cart_id": cart.pk, "total": "50.00", "discount": discount, "paid": paid,
    }  # fmt: skip
    cart.refresh_from_db()
    assert (cart.status, cart.discount, cart.paid) == ("checked_out", Decimal(discount), Decimal(paid))
    assert Coupon.objects.get().redeemed_cart_id == cart.pk


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("unknown", "This coupon code does not exist."),
        ("expired", "This coupon expired on"),
        ("used", "This coupon was already used."),
        ("another shopper's", "This coupon belongs to another shopper."),
        ("below its minimum", "This coupon needs a cart of at least USD 60.00."),
    ],
)
def test_a_coupon_that_cannot_be_used_is_a_400_naming_coupon_and_the_cart_is_not_checked_out(
    shopper, cart, clock, setup, message
):
    if setup == "expired":
        coupon_for(cart, clock, expires_at=clock.now() - timedelta(seconds=1))
    elif setup == "used":
        coupon_for(cart, clock, redeemed_at=clock.now())
    elif setup == "another shopper's":
        coupon_for(make_cart(user=UserFactory(), status=Cart.Status.CHECKED_OUT, checked_out_at=clock.now()), clock)
    elif setup == "below its minimum":
        coupon_for(cart, clock, min_total=Decimal("60.00"))

    response = checkout(shopper, cart, "ABCD2346EFGH")

    assert response.status_code == 400
    assert list(response.json()) == ["coupon"]
    assert response.json()["coupon"][0].startswith(message)
    cart.refresh_from_db()
    assert (cart.status, cart.discount, cart.paid) == ("abandoned", Decimal("0.00"), None)


def test_a_coupon_redeemed_by_someone_between_its_check_and_its_use_is_refused(shopper, cart, clock, monkeypatch):
    coupon = coupon_for(cart, clock)
    real_discount = services.coupon_discount

    def redeemed_meanwhile(**kwargs):
        return real_discount(**kwargs)

    # The conditional UPDATE is what holds: make the row used right before it runs.
    original_filter = Coupon.objects.filter

    def filter_then_use(*args, **kwargs):
        rows = original_filter(*args, **kwargs)
        if kwargs.get("redeemed_at__isnull") is True:
            original_filter(pk=coupon.pk).update(redeemed_at=clock.now())
        return rows

    monkeypatch.setattr(Coupon.objects, "filter", filter_then_use)

    response = checkout(shopper, cart, coupon.code)

    assert response.status_code == 400
    assert response.json() == {"coupon": ["This coupon was already used."]}
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ABANDONED


@pytest.mark.django_db(transaction=True)
def test_two_checkouts_racing_with_one_coupon_redeem_it_once(clock):
    shopper = UserFactory()
    cart = make_cart(user=shopper, lines=[(ItemFactory(price=Decimal("25.00")), 2)])
    coupon = coupon_for(cart, clock)
    clients = [client_for(shopper) for _ in range(6)]

    answers = run_together(
        [
            lambda client=client: client.post(
                "/cart/checkout", {"cart_id": cart.pk, "coupon": coupon.code}, format="json"
            )
            for client in clients
        ]
    )

    assert sorted(answer.status_code for answer in answers) == [200] + [409] * 5
    cart.refresh_from_db()
    coupon.refresh_from_db()
    assert (cart.discount, cart.paid) == (Decimal("5.00"), Decimal("45.00"))
    assert coupon.redeemed_cart_id == cart.pk


def test_an_empty_coupon_is_no_coupon(shopper, cart):
    response = checkout(shopper, cart, "")

    assert response.status_code == 200
    assert (response.json()["discount"], response.json()["paid"]) == ("0.00", "50.00")


def test_checkout_without_a_coupon_pays_the_total(shopper, cart):
    response = client_for(shopper).post("/api/carts/checkout/", {"cart_id": cart.pk}, format="json")

    assert response.status_code == 200
    assert (response.json()["total"], response.json()["discount"], response.json()["paid"]) == (
        "50.00",
        "0.00",
        "50.00",
    )


def test_the_database_refuses_a_discount_larger_than_the_total(cart):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Cart.objects.filter(pk=cart.pk).update(discount=Decimal("50.01"))
