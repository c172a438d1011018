"""Real threads, real transactions: concurrent adds end with one cart and one line of the right quantity.

Runs on SQLite (IMMEDIATE transactions + busy timeout, no retries in views) and on PostgreSQL (row locks)."""

import pytest

from carts.models import Cart, CartItem
from tests.carts.factories import make_cart
from tests.helpers import client_for, run_together

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 12


def run_concurrently(task, count=WORKERS):
    """``task(index)`` in ``count`` threads started together; their results in order."""
    return run_together([lambda index=index: task(index) for index in range(count)])


@pytest.mark.parametrize("cart_exists", [True, False], ids=["existing cart", "first add"])
def test_twelve_concurrent_adds_of_one_item_make_one_line_of_the_summed_quantity(shopper, item, cart_exists):
    if cart_exists:
        make_cart(user=shopper, lines=[(item, 1)])
    start = 1 if cart_exists else 0
    clients = [client_for(shopper) for _ in range(WORKERS)]

    responses = run_concurrently(
        lambda i: clients[i].post("/cart/add", {"item_id": item.pk, "quantity": i + 1}, format="json")
    )

    assert [r.status_code for r in responses] == [200] * WORKERS, [r.content for r in responses]
    expected = start + sum(range(1, WORKERS + 1))
    cart = Cart.objects.get(user=shopper)
    line = CartItem.objects.get(cart=cart)
    assert line.quantity == expected
    assert cart.item_count == expected
    assert cart.total == item.price * expected
    # Every response saw a quantity no other response saw: the adds were serialised, none lost.
    assert len({r.json()["quantity"] for r in responses}) == WORKERS
    assert max(r.json()["quantity"] for r in responses) == expected


def test_concurrent_adds_and_removes_keep_the_total_equal_to_the_lines(shopper, item):
    cart = make_cart(user=shopper, lines=[(item, 50)])
    clients = [client_for(shopper) for _ in range(WORKERS)]

    def task(i):
        if i % 2:
            return clients[i].post("/cart/add", {"item_id": item.pk, "quantity": 3}, format="json")
        return clients[i].post("/cart/remove", {"cart_id": cart.pk, "item_id": item.pk, "quantity": 2}, format="json")

    responses = run_concurrently(task)

    assert all(r.status_code == 200 for r in responses)
    cart.refresh_from_db()
    line = CartItem.objects.get(cart=cart)
    assert line.quantity == 50 + 6 * 3 - 6 * 2
    assert (cart.item_count, cart.total) == (line.quantity, item.price * line.quantity)


def test_concurrent_checkouts_of_one_cart_succeed_exactly_once(shopper, item):
    cart = make_cart(user=shopper, lines=[(item, 1)])
    clients = [client_for(shopper) for _ in range(WORKERS)]

    responses = run_concurrently(lambda i: clients[i].post("/cart/checkout", {"cart_id": cart.pk}, format="json"))

    assert sorted(r.status_code for r in responses) == [200] + [409] * (WORKERS - 1)


def test_concurrent_registrations_of_one_email_create_one_user(api_client):
    from users.models import User

    clients = [client_for(None) for _ in range(WORKERS)]

    responses = run_concurrently(
        lambda i: clients[i].post("/user/register", {"name": f"Ann {i}", "email": "ann@example.com"}, format="json")
    )

    assert sorted(r.status_code for r in responses) == [201] + [400] * (WORKERS - 1)
    assert User.objects.filter(email__iexact="ann@example.com").count() == 1
