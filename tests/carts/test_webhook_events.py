"""The carts' webhook events (the transactional outbox): one per change, written in the change's transaction, so a
change that is refused or rolled back leaves none; and none at all while no active endpoint wants the type."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings

from carts import sweep
from carts.models import Cart
from carts.services import (
    cart_add_item,
    cart_checkout,
    cart_open_for_owner_view,
    cart_recover,
    cart_remove_item,
)
from carts.sweep import sweep_abandoned_carts
from core.errors import InvalidInput
from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory
from tests.helpers import run_rolled_back
from tests.webhooks.factories import EndpointFactory
from webhooks.models import Event

pytestmark = pytest.mark.django_db

THRESHOLD = settings.CART_ABANDON_AFTER_SECONDS


@pytest.fixture
def endpoint():
    return EndpointFactory()  # active, every type


@pytest.fixture
def mug():
    return ItemFactory(price=Decimal("7.50"))


def _snapshot(event: Event) -> tuple:
    return (event.type, event.cart_id, event.user_id, event.email, event.status, event.item_count, event.total)


def test_a_checkout_records_one_event_with_the_cart_as_checked_out(endpoint, shopper, mug, clock):
    cart = make_cart(user=shopper, lines=[(mug, 2)])

    cart_checkout(cart_id=cart.pk, user=shopper, now=clock.now())

    event = Event.objects.get()
    assert _snapshot(event) == (
        "cart.checked_out",
        cart.pk,
        shopper.pk,
        shopper.email,
        "checked_out",
        2,
        Decimal("15.00"),
    )
    assert (event.occurred_at, event.step, event.coupon, event.fanned_out_at) == (clock.now(), None, None, None)


def test_a_checkout_by_staff_records_the_shoppers_email(endpoint, shopper, mug, clock):
    cart = make_cart(user=shopper, lines=[(mug, 1)])

    cart_checkout(cart_id=cart.pk, user=None, now=clock.now())

    assert Event.objects.get().email == shopper.email


def test_a_refused_checkout_records_nothing(endpoint, shopper, clock):
    empty = make_cart(user=shopper)

    with pytest.raises(InvalidInput):
        cart_checkout(cart_id=empty.pk, user=shopper, now=clock.now())

    assert not Event.objects.exists()


def test_a_checkout_rolled_back_leaves_no_event(endpoint, shopper, mug, clock):
    cart = make_cart(user=shopper, lines=[(mug, 1)])

    run_rolled_back(lambda: cart_checkout(cart_id=cart.pk, user=shopper, now=clock.now()))

    assert not Event.objects.exists()
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ACTIVE


def _abandoned(shopper, mug, clock) -> Cart:
    return make_cart(
        user=shopper,
        lines=[(mug, 2)],
        status=Cart.Status.ABANDONED,
        abandoned_at=clock.now() - timedelta(hours=1),
        last_updated=clock.now() - timedelta(hours=2),
    )


RETURNS = {
    "add": lambda cart, user, item, now: cart_add_item(user=user, item=ItemFactory(), quantity=1, now=now),
    "remove": lambda cart, user, item, now: cart_remove_item(
        cart_id=cart.pk, item_id=item.pk, quantity=1, user=None, now=now
    ),
    "owner's view": lambda cart, user, item, now: cart_open_for_owner_view(user=user, now=now),
    "checkout": lambda cart, user, item, now: cart_checkout(cart_id=cart.pk, user=user, now=now),
    "recovery link": lambda cart, user, item, now: cart_recover(cart_id=cart.pk, now=now),
}


@pytest.mark.parametrize("way", list(RETURNS))
def test_an_abandoned_cart_coming_back_records_cart_recovered_as_it_came_back(endpoint, shopper, mug, clock, way):
    cart = _abandoned(shopper, mug, clock)

    RETURNS[way](cart, shopper, mug, clock.now())

    recovered = Event.objects.get(type="cart.recovered")
    assert _snapshot(recovered) == (
        "cart.recovered",
        cart.pk,
        shopper.pk,
        shopper.email,
        "active",
        2,
        Decimal("15.00"),
    )
    assert recovered.occurred_at == clock.now()
    expected = ["cart.recovered", "cart.checked_out"] if way == "checkout" else ["cart.recovered"]
    assert list(Event.objects.order_by("id").values_list("type", flat=True)) == expected


@pytest.mark.parametrize("way", list(RETURNS))
def test_an_active_cart_changing_records_no_recovery(endpoint, shopper, mug, clock, way):
    cart = make_cart(user=shopper, lines=[(mug, 2)])

    RETURNS[way](cart, shopper, mug, clock.now())

    assert not Event.objects.filter(type="cart.recovered").exists()


def test_an_add_refused_on_an_abandoned_cart_records_no_recovery(endpoint, shopper, mug, clock):
    cart = _abandoned(shopper, mug, clock)

    with pytest.raises(InvalidInput):
        cart_add_item(user=shopper, item=mug, quantity=settings.CART_MAX_QUANTITY, now=clock.now())

    assert not Event.objects.exists()
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ABANDONED


# -- the sweep --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("catch_up_batches", [1, 1000], ids=["catch-up, in id order", "oldest first"])
def test_the_sweep_records_one_cart_abandoned_event_for_exactly_the_carts_it_marked(
    endpoint, monkeypatch, clock, catch_up_batches
):
    monkeypatch.setattr(sweep, "CATCH_UP_BATCHES", catch_up_batches)
    items = ItemFactory.create_batch(3, price=Decimal("2.50"))
    stale = [make_cart(lines=[(items[n % 3], n + 1)], last_updated=clock.now()) for n in range(7)]
    already = make_cart(lines=[(items[0], 1)], status=Cart.Status.ABANDONED, abandoned_at=clock.now())
    checked_out = make_cart(lines=[(items[0], 1)], status=Cart.Status.CHECKED_OUT, checked_out_at=clock.now())
    empty = make_cart(last_updated=clock.now())
    clock.advance(seconds=THRESHOLD + 1)
    fresh = make_cart(lines=[(items[1], 1)], last_updated=clock.now())

    result = sweep_abandoned_carts(now=clock.now(), batch_size=3)

    events = Event.objects.order_by("cart_id")
    assert result.marked == 7
    assert [_snapshot(event) for event in events] == [
        ("cart.abandoned", c.pk, c.user_id, c.user.email, "abandoned", n + 1, Decimal("2.50") * (n + 1))
        for n, c in enumerate(stale)
    ]
    assert {event.occurred_at for event in events} == {clock.now()}
    assert not Event.objects.filter(cart_id__in=[already.pk, checked_out.pk, empty.pk, fresh.pk]).exists()


def test_a_cart_abandoned_a_second_time_gets_a_second_event(endpoint, shopper, mug, clock):
    cart = make_cart(user=shopper, lines=[(mug, 1)], last_updated=clock.now())
    clock.advance(seconds=THRESHOLD + 1)
    sweep_abandoned_carts(now=clock.now())
    cart_add_item(user=shopper, item=mug, quantity=1, now=clock.now())
    clock.advance(seconds=THRESHOLD + 1)

    sweep_abandoned_carts(now=clock.now())

    types = list(Event.objects.filter(cart_id=cart.pk).order_by("id").values_list("type", "item_count"))
    assert types == [("cart.abandoned", 1), ("cart.recovered", 1), ("cart.abandoned", 2)]


def test_a_sweep_rolled_back_leaves_no_event(endpoint, mug, clock):
    make_cart(lines=[(mug, 1)], last_updated=clock.now())
    clock.advance(seconds=THRESHOLD + 1)

    assert run_rolled_back(lambda: sweep_abandoned_carts(now=clock.now())).marked == 1

    assert not Event.objects.exists()


# -- only what someone listens to -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoints",
    [[], [{"active": False}], [{"event_types": ["recovery_email.sent"]}]],
    ids=["no endpoint", "an inactive endpoint", "an endpoint for other types"],
)
def test_nothing_is_recorded_while_no_active_endpoint_subscribes_to_the_type(endpoints, shopper, mug, clock):
    for fields in endpoints:
        EndpointFactory(**fields)
    stale = make_cart(lines=[(mug, 1)], last_updated=clock.now())
    cart = _abandoned(shopper, mug, clock)
    clock.advance(seconds=THRESHOLD + 1)

    assert sweep_abandoned_carts(now=clock.now()).marked == 1
    cart_checkout(cart_id=cart.pk, user=shopper, now=clock.now())

    assert not Event.objects.exists()
    stale.refresh_from_db()
    assert stale.status == Cart.Status.ABANDONED


def test_an_endpoint_for_some_types_gets_those_recorded_only(shopper, mug, clock):
    EndpointFactory(event_types=["cart.checked_out"])
    cart = _abandoned(shopper, mug, clock)

    cart_checkout(cart_id=cart.pk, user=shopper, now=clock.now())

    assert list(Event.objects.values_list("type", flat=True)) == ["cart.checked_out"]
