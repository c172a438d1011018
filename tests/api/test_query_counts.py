"""No N+1: listing and cart routes run a bounded number of queries whatever the number of lines or items."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory

pytestmark = pytest.mark.django_db


def count_queries(request):
    with CaptureQueriesContext(connection) as captured:
        response = request()
    assert response.status_code < 300, response.content
    return len(captured)


@pytest.mark.parametrize("size", [1, 40])
def test_cart_view_is_constant_in_the_number_of_lines(shopper_client, shopper, size, django_assert_max_num_queries):
    make_cart(user=shopper, lines=[(ItemFactory(), 1) for _ in range(size)])

    # the token; the cart with its lines and their items, in one statement (one snapshot): a view is a plain read
    with django_assert_max_num_queries(2):
        response = shopper_client.get("/cart/view")

    assert len(response.json()["items"]) == size


@pytest.mark.parametrize("size", [1, 40])
def test_cart_add_is_constant_in_the_number_of_lines(shopper_client, shopper, size, django_assert_max_num_queries):
    make_cart(user=shopper, lines=[(ItemFactory(), 1) for _ in range(size)])
    extra = ItemFactory()

    # the token, the item, the locked cart, the line, the line's insert, the cart's update (+ the test's savepoint
    # and its release, as the service's transaction runs inside the test's)
    with django_assert_max_num_queries(8):
        response = shopper_client.post("/cart/add", {"item_id": extra.pk}, format="json")

    assert response.json()["item_count"] == size + 1


@pytest.mark.parametrize("size", [1, 60])
def test_item_list_is_constant_in_the_number_of_items(api_client, size, django_assert_max_num_queries):
    ItemFactory.create_batch(size)

    with django_assert_max_num_queries(1):
        response = api_client.get("/item/all")

    assert len(response.json()) == size


def test_cart_list_is_constant_in_the_number_of_carts(staff_client, item):
    make_cart(lines=[(item, 1)])
    few = count_queries(lambda: staff_client.get("/api/carts/"))
    for _ in range(30):
        make_cart(lines=[(item, 2), (ItemFactory(), 1)])
    many = count_queries(lambda: staff_client.get("/api/carts/"))

    assert many == few
    assert count_queries(lambda: staff_client.get("/user/all")) <= 3
