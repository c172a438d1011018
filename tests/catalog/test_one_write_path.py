"""Every way staff create or change an item goes through the item services (one write path per model)."""

from decimal import Decimal

import pytest

from catalog import services
from catalog.models import Item

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(monkeypatch):
    """The item services, recording their calls and doing their work."""
    seen = []
    for name in ("item_create", "item_update"):
        real = getattr(services, name)

        def recording(*, _real=real, _name=name, **kwargs):
            seen.append(_name)
            return _real(**kwargs)

        monkeypatch.setattr(services, name, recording)
    return seen


@pytest.mark.parametrize("path", ["/item/add", "/api/items/", "/api/items/add/"])
def test_creating_an_item_goes_through_the_item_service(staff_client, calls, path):
    response = staff_client.post(path, {"name": "Teapot", "price": "18.00"}, format="json")

    assert response.status_code == 201
    assert calls == ["item_create"]
    assert Item.objects.get(name="Teapot").price == Decimal("18.00")


@pytest.mark.parametrize("method", ["put", "patch"])
def test_changing_an_item_goes_through_the_item_service(staff_client, item, calls, method):
    response = getattr(staff_client, method)(
        f"/api/items/{item.pk}/", {"name": "Renamed", "price": "3.10"}, format="json"
    )

    assert response.status_code == 200
    assert calls == ["item_update"]
    item.refresh_from_db()
    assert (item.name, item.price) == ("Renamed", Decimal("3.10"))
