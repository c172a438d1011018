from decimal import Decimal

import pytest

from catalog.models import Item
from tests.catalog.factories import ItemFactory

pytestmark = pytest.mark.django_db


def test_anyone_lists_the_active_items_with_decimal_prices(api_client):
    mug = ItemFactory(name="Mug", price=Decimal("9.5"))
    ItemFactory(name="Retired", is_active=False)

    response = api_client.get("/item/all")

    assert response.status_code == 200
    assert response.json() == [{"id": mug.pk, "name": "Mug", "price": "9.50"}]


@pytest.mark.parametrize(
    ("price", "stored"), [("19.99", Decimal("19.99")), (19.99, Decimal("19.99")), (5, Decimal("5.00"))]
)
def test_staff_add_an_item_with_a_number_or_a_decimal_string(staff_client, price, stored):
    response = staff_client.post("/item/add", {"name": "Kettle", "price": price}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"message", "id"}
    assert Item.objects.get(pk=body["id"]).price == stored


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Kettle", "price": "0"}, "price"),
        ({"name": "Kettle", "price": "-1.00"}, "price"),
        ({"name": "Kettle", "price": "1.999"}, "price"),
        ({"name": "Kettle", "price": "123456789.00"}, "price"),
        ({"name": "Kettle", "price": "NaN"}, "price"),
        ({"name": "Kettle", "price": "abc"}, "price"),
        ({"name": "Kettle"}, "price"),
        ({"price": "1.00"}, "name"),
        ({"name": "", "price": "1.00"}, "name"),
        ({"name": "k" * 201, "price": "1.00"}, "name"),
    ],
)
def test_adding_an_item_names_the_bad_field(staff_client, body, field):
    response = staff_client.post("/item/add", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Item.objects.exists()


def test_staff_edit_and_deactivate_items_through_the_api(staff_client):
    item = ItemFactory(price=Decimal("3.00"))

    response = staff_client.patch(f"/api/items/{item.pk}/", {"price": "4.25", "is_active": False}, format="json")

    assert response.status_code == 200
    item.refresh_from_db()
    assert (item.price, item.is_active) == (Decimal("4.25"), False)
    assert staff_client.get("/item/all").json() == []


def test_items_cannot_be_deleted_because_carts_refer_to_them(staff_client):
    item = ItemFactory()

    assert staff_client.delete(f"/api/items/{item.pk}/").status_code == 405
    assert Item.objects.filter(pk=item.pk).exists()
