"""The seed cart routes: every success and every error path of the contract."""

import json
from decimal import Decimal

import pytest
from django.test import override_settings

from carts.models import AbandonmentLog, Cart, CartItem
from carts.services import cart_add_item
from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def add(client, **body):
    return client.post("/cart/add", body, format="json")


def test_first_add_creates_a_cart_and_returns_its_id(shopper_client, shopper, item):
    response = add(shopper_client, item_id=item.pk, quantity=2)

    assert response.status_code == 200
    body = response.json()
    cart = Cart.objects.get(user=shopper)
    assert body["cart_id"] == cart.pk
    assert body["quantity"] == 2
    assert body["total"] == "20.00"
    assert cart.status == Cart.Status.ACTIVE


def test_quantity_defaults_to_one(shopper_client, item):
    assert add(shopper_client, item_id=item.pk).json()["quantity"] == 1


def test_adding_an_item_already_in_the_cart_adds_to_its_quantity(shopper_client, shopper, item):
    add(shopper_client, item_id=item.pk, quantity=2)
    response = add(shopper_client, item_id=item.pk, quantity="3")

    assert response.json()["quantity"] == 5
    line = CartItem.objects.get(cart__user=shopper)
    assert line.quantity == 5
    assert Cart.objects.get(user=shopper).total == Decimal("50.00")


def test_the_cart_total_is_exact_money_not_a_float(shopper, clock):
    item = ItemFactory(price=Decimal("19.99"))

    cart, _ = cart_add_item(user=shopper, item=item, quantity=3, now=clock.now())

    assert isinstance(cart.total, Decimal)
    assert cart.total == Decimal("59.97")
    cart.refresh_from_db()
    assert cart.total == Decimal("59.97")


def test_the_line_keeps_the_price_it_was_added_at(shopper_client, shopper, item):
    add(shopper_client, item_id=item.pk)
    item.price = Decimal("99.99")
    item.save()

    view = shopper_client.get("/cart/view").json()

    assert view["items"][0]["price"] == "10.00"
    assert view["total"] == "10.00"


def test_a_line_may_not_exceed_the_maximum_quantity(shopper_client, shopper, item, settings):
    settings.CART_MAX_QUANTITY = 5
    add(shopper_client, item_id=item.pk, quantity=4)

    response = add(shopper_client, item_id=item.pk, quantity=2)

    assert response.status_code == 400
    assert "quantity" in response.json()
    assert CartItem.objects.get(cart__user=shopper).quantity == 4


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"item_id": 999_999}, 404, "detail"),
        ({}, 400, "item_id"),
        ({"item_id": 1, "quantity": 0}, 400, "quantity"),
        ({"item_id": 1, "quantity": -3}, 400, "quantity"),
        ({"item_id": 1, "quantity": 1000}, 400, "quantity"),
    ],
)
def test_add_refuses_bad_input_naming_the_problem(shopper_client, body, status, field):
    response = add(shopper_client, **body)

    assert response.status_code == status
    assert field in response.json()
    assert not Cart.objects.exists()


def test_an_inactive_item_cannot_be_added(shopper_client):
    hidden = ItemFactory(is_active=False)

    response = add(shopper_client, item_id=hidden.pk)

    assert response.status_code == 400
    assert "item_id" in response.json()


def test_staff_adds_to_a_shoppers_cart_by_user_id(staff_client, shopper, item):
    response = add(staff_client, user_id=shopper.pk, item_id=item.pk)

    assert response.status_code == 200
    assert Cart.objects.get(pk=response.json()["cart_id"]).user == shopper


def test_staff_naming_an_unknown_user_gets_404(staff_client, item):
    response = add(staff_client, user_id=987_654, item_id=item.pk)

    assert response.status_code == 404
    assert not Cart.objects.exists()


def test_remove_with_a_quantity_decrements_the_line(shopper_client, shopper, item):
    cart = make_cart(user=shopper, lines=[(item, 5)])

    response = shopper_client.post(
        "/cart/remove", {"cart_id": cart.pk, "item_id": item.pk, "quantity": 2}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["quantity"] == 3
    assert CartItem.objects.get(cart=cart).quantity == 3
    cart.refresh_from_db()
    assert (cart.item_count, cart.total) == (3, Decimal("30.00"))


@pytest.mark.parametrize("quantity", [None, 5, 50])
def test_remove_without_quantity_or_with_all_of_it_removes_the_line(shopper_client, shopper, item, quantity):
    cart = make_cart(user=shopper, lines=[(item, 5)])
    body = {"cart_id": cart.pk, "item_id": item.pk}
    if quantity is not None:
        body["quantity"] = quantity

    response = shopper_client.post("/cart/remove", body, format="json")

    assert response.status_code == 200
    assert response.json()["quantity"] == 0
    assert not CartItem.objects.filter(cart=cart).exists()
    cart.refresh_from_db()
    assert (cart.item_count, cart.total) == (0, Decimal("0.00"))


def test_removing_an_item_not_in_the_cart_is_404(shopper_client, shopper, item):
    cart = make_cart(user=shopper, lines=[(item, 1)])
    other = ItemFactory()

    response = shopper_client.post("/cart/remove", {"cart_id": cart.pk, "item_id": other.pk}, format="json")

    assert response.status_code == 404
    assert CartItem.objects.get(cart=cart).quantity == 1


def test_remove_from_an_unknown_cart_is_404(shopper_client, item):
    response = shopper_client.post("/cart/remove", {"cart_id": 424242, "item_id": item.pk}, format="json")

    assert response.status_code == 404


def test_view_shows_lines_and_total(shopper_client, shopper):
    mug, kettle = ItemFactory(name="Mug", price=Decimal("9.50")), ItemFactory(name="Kettle", price=Decimal("30.00"))
    cart = make_cart(user=shopper, lines=[(mug, 2), (kettle, 1)])

    response = shopper_client.get("/cart/view")

    assert response.status_code == 200
    body = response.json()
    assert body["cart_id"] == cart.pk
    assert body["status"] == "active"
    assert body["total"] == "49.00"
    assert body["items"] == [
        {"item_id": mug.pk, "item_name": "Mug", "price": "9.50", "quantity": 2, "line_total": "19.00"},
        {"item_id": kettle.pk, "item_name": "Kettle", "price": "30.00", "quantity": 1, "line_total": "30.00"},
    ]
    assert body["last_updated"]


def test_view_without_a_cart_is_404(shopper_client):
    assert shopper_client.get("/cart/view").status_code == 404


def test_view_with_a_bad_user_id_is_400(shopper_client):
    response = shopper_client.get("/cart/view?user_id=abc")

    assert response.status_code == 400
    assert "user_id" in response.json()


def test_checkout_freezes_the_cart(shopper_client, shopper, item):
    cart = make_cart(user=shopper, lines=[(item, 2)])

    response = shopper_client.post("/cart/checkout", {"cart_id": cart.pk}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "message": "Checked out.",
        "cart_id": cart.pk,
        "total": "20.00",
        "discount": "0.00",
        "paid": "20.00",
    }
    cart.refresh_from_db()
    assert cart.status == Cart.Status.CHECKED_OUT
    assert cart.checked_out_at is not None


def test_an_empty_cart_cannot_be_checked_out(shopper_client, shopper):
    cart = make_cart(user=shopper)

    response = shopper_client.post("/cart/checkout", {"cart_id": cart.pk}, format="json")

    assert response.status_code == 400
    assert "cart_id" in response.json()
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ACTIVE


def test_a_checked_out_cart_cannot_be_checked_out_again_nor_changed(shopper_client, shopper, item):
    cart = make_cart(user=shopper, lines=[(item, 2)])
    shopper_client.post("/cart/checkout", {"cart_id": cart.pk}, format="json")

    again = shopper_client.post("/cart/checkout", {"cart_id": cart.pk}, format="json")
    remove = shopper_client.post("/cart/remove", {"cart_id": cart.pk, "item_id": item.pk}, format="json")

    assert again.status_code == 409
    assert remove.status_code == 409
    assert CartItem.objects.get(cart=cart).quantity == 2


def test_the_next_add_after_checkout_starts_a_new_cart(shopper_client, shopper, item):
    cart = make_cart(user=shopper, lines=[(item, 2)])
    shopper_client.post("/cart/checkout", {"cart_id": cart.pk}, format="json")

    response = add(shopper_client, item_id=item.pk)

    assert response.json()["cart_id"] != cart.pk
    assert response.json()["quantity"] == 1
    assert Cart.objects.filter(user=shopper).count() == 2
    assert shopper_client.get("/cart/view").json()["cart_id"] == response.json()["cart_id"]


@pytest.mark.parametrize("action", ["add", "remove", "view"])
def test_the_owner_coming_back_to_an_abandoned_cart_recovers_it(shopper, item, clock, action):
    abandoned_at = clock.now()
    cart = make_cart(user=shopper, lines=[(item, 3)], status=Cart.Status.ABANDONED, abandoned_at=abandoned_at)
    AbandonmentLog.objects.create(cart=cart, abandoned_at=abandoned_at, item_count=3, total=Decimal("30.00"))
    client = client_for(shopper)

    if action == "add":
        response = add(client, item_id=item.pk)
    elif action == "remove":
        response = client.post("/cart/remove", {"cart_id": cart.pk, "item_id": item.pk, "quantity": 1}, format="json")
    else:
        response = client.get("/cart/view")

    assert response.status_code == 200
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ACTIVE
    assert cart.recovered_at is not None
    assert cart.recovery_source == Cart.RecoverySource.RETURNED
    assert cart.abandoned_at == abandoned_at
    assert AbandonmentLog.objects.filter(cart=cart).count() == 1


def test_staff_viewing_an_abandoned_cart_does_not_recover_it(staff_client, shopper, item, clock):
    cart = make_cart(user=shopper, lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=clock.now())

    response = staff_client.get(f"/cart/view?user_id={shopper.pk}")

    assert response.json()["status"] == "abandoned"
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ABANDONED
    assert cart.recovered_at is None


def test_checking_out_an_abandoned_cart_counts_as_recovered(shopper_client, shopper, item, clock):
    cart = make_cart(user=shopper, lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=clock.now())

    shopper_client.post("/cart/checkout", {"cart_id": cart.pk}, format="json")

    cart.refresh_from_db()
    assert cart.status == Cart.Status.CHECKED_OUT
    assert cart.recovered_at is not None


def test_each_action_refreshes_last_updated(shopper_client, shopper, item):
    cart = make_cart(user=shopper, lines=[(item, 3)])
    Cart.objects.filter(pk=cart.pk).update(last_updated="2020-01-01T00:00:00Z")

    seen = []
    for method, url, body in [
        ("post", "/cart/add", {"item_id": item.pk}),
        ("post", "/cart/remove", {"cart_id": cart.pk, "item_id": item.pk, "quantity": 1}),
        ("post", "/cart/checkout", {"cart_id": cart.pk}),
    ]:
        Cart.objects.filter(pk=cart.pk).update(last_updated="2020-01-01T00:00:00Z")
        getattr(shopper_client, method)(url, body, format="json")
        cart.refresh_from_db()
        seen.append(cart.last_updated.year)

    assert seen == [seen[0]] * 3
    assert seen[0] > 2020


@override_settings(CART_MAX_QUANTITY=3)
def test_maximum_quantity_comes_from_settings(shopper_client, item):
    assert add(shopper_client, item_id=item.pk, quantity=3).status_code == 200
    assert add(shopper_client, item_id=item.pk, quantity=4).status_code == 400


@pytest.mark.parametrize("time_zone", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_view_answers_exactly_what_the_cart_serializer_gives(shopper_client, shopper, settings, time_zone):
    # /cart/view builds its answer by hand for speed (carts/api/views.py); it must stay what the documented
    # CartViewOutput serializer says, in any time zone, for lines of any price.
    from django.db.models import prefetch_related_objects

    from carts.api.serializers import CartViewOutput
    from carts.api.views import LINES_WITH_ITEMS

    settings.TIME_ZONE = time_zone
    prices_and_quantities = [("9.50", 3), ("0.01", 999), ("1234567.89", 2)]
    cart = make_cart(user=shopper, lines=[(ItemFactory(price=Decimal(p)), q) for p, q in prices_and_quantities])

    response = shopper_client.get("/cart/view")

    cart.refresh_from_db()
    prefetch_related_objects([cart], LINES_WITH_ITEMS)
    assert response.json() == json.loads(json.dumps(CartViewOutput(cart).data))


def test_an_add_that_would_overflow_the_cart_total_is_refused_and_the_cart_stays_readable(shopper_client, settings):
    settings.CART_MAX_QUANTITY = 999
    dear = [ItemFactory(price=Decimal("99999999.99")) for _ in range(11)]
    for item in dear[:10]:
        assert add(shopper_client, item_id=item.pk, quantity=999).status_code == 200

    response = add(shopper_client, item_id=dear[10].pk, quantity=999)

    assert response.status_code == 400
    assert response.json() == {
        "quantity": ["A cart's total may be at most 999999999999.99; this would make it 1098899999890.11."]
    }
    view = shopper_client.get("/cart/view")
    assert view.status_code == 200
    assert view.json()["total"] == "998999999900.10"
    assert len(view.json()["items"]) == 10
