"""Every address the API router publishes, walked as anonymous, shopper and staff, with each method it allows, as
published and with a format suffix (``/api/carts/add.json``): none answers with a server error.

The routes are read from ``router.urls`` itself, so a viewset or an ``@action`` added later is walked too."""

import itertools

import pytest
from django.urls import reverse

from cartrecovery.router import router
from tests.carts.factories import AbandonmentLogFactory, make_cart
from tests.helpers import client_for
from tests.recovery.factories import RecoveryEmailFactory, make_campaign
from tests.webhooks.factories import DeliveryFactory, EndpointFactory

pytestmark = pytest.mark.django_db

SUFFIXES = (".json", ".api", ".csv")
_emails = itertools.count()


def _published_routes() -> list[tuple[str, str, tuple[str, ...]]]:
    """(URL name, path parameters, HTTP methods) of every pattern the router publishes."""
    routes = []
    for pattern in router.urls:
        actions = getattr(pattern.callback, "actions", None) or {"get": None}  # the API root is a plain view
        routes.append((pattern.name, tuple(pattern.pattern.regex.groupindex), tuple(actions)))
    return routes


ROUTES = _published_routes()


@pytest.fixture
def world(shopper, staff, item):
    cart = make_cart(user=shopper, lines=[(item, 2)])
    log = AbandonmentLogFactory(
        cart=make_cart(user=staff, lines=[(item, 1)], status="abandoned", abandoned_at=cart.created_at)
    )
    campaign = make_campaign()
    endpoint = EndpointFactory()
    delivery = DeliveryFactory(endpoint=endpoint)
    email = RecoveryEmailFactory(cart=log.cart)
    ids = {
        "user": shopper.pk,
        "item": item.pk,
        "cart": cart.pk,
        "cart-reminder": log.cart.pk,
        "abandonmentlog": log.pk,
        "recoveryemail": email.pk,
        "campaign": campaign.pk,
        "webhookendpoint": endpoint.pk,
        "webhookdelivery": delivery.pk,
    }
    return {"ids": ids, "shopper": shopper, "staff": staff, "item": item, "cart": cart}


def _body(name: str, world) -> dict:
    """A body that gets past validation where the route takes one, so the walk reaches the action itself."""
    item, cart = world["item"], world["cart"]
    return {
        "user-register": {"name": "Walker", "email": f"walker{next(_emails)}@example.com"},
        "item-list": {"name": "Kettle", "price": "12.00"},
        "item-add": {"name": "Kettle", "price": "12.00"},
        "item-detail": {"name": "Kettle", "price": "12.00"},
        "cart-add": {"item_id": item.pk, "quantity": 1},
        "cart-remove": {"cart_id": cart.pk, "item_id": item.pk, "quantity": 1},
        "cart-checkout": {"cart_id": cart.pk},
    }.get(name, {})


def _basename(name: str) -> str:
    """The basename a route's name was made from (the longest registered one it starts with)."""
    return max((basename for _, _, basename in router.registry if name.startswith(f"{basename}-")), key=len)


def _addresses(name: str, parameters: tuple[str, ...], world) -> list[str]:
    kwargs = {}
    for parameter in parameters:
        if parameter == "pk":
            kwargs["pk"] = world["ids"][_basename(name)]
        elif parameter == "format":
            kwargs["format"] = "json"
    address = reverse(name, kwargs=kwargs)
    bare = address.rstrip("/")
    return [address, *(bare + suffix for suffix in SUFFIXES), *(bare + suffix + "/" for suffix in SUFFIXES)]


def test_the_router_publishes_no_format_suffix_routes():
    assert not [name for name, parameters, _ in ROUTES if "format" in parameters]


@pytest.mark.parametrize("role", ["anonymous", "shopper", "staff"])
@pytest.mark.parametrize(("name", "parameters", "methods"), ROUTES, ids=[name for name, _, _ in ROUTES])
def test_no_published_route_answers_with_a_server_error_with_or_without_a_suffix(
    world, role, name, parameters, methods
):
    client = client_for(None if role == "anonymous" else world[role])

    answers = {}
    for address in _addresses(name, parameters, world):
        for method in methods:
            call = getattr(client, method)
            response = call(address) if method == "get" else call(address, _body(name, world), format="json")
            answers[f"{method.upper()} {address}"] = response.status_code

    assert {request: status for request, status in answers.items() if status >= 500} == {}
    # The published address does what it did; a suffixed one is an unknown address, answered in JSON.
    suffixed = [request for request in answers if any(suffix in request for suffix in SUFFIXES)]
    assert {answers[request] for request in suffixed} == {404}


def test_format_json_in_the_query_string_still_chooses_json(shopper_client, item):
    response = shopper_client.get("/api/items/?format=json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert [row["id"] for row in response.json()["results"]] == [item.pk]


def test_a_suffixed_registration_is_a_json_404_not_a_server_error(api_client):
    response = api_client.post("/api/users/register.json", {"name": "Ada", "email": "ada@example.com"}, format="json")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
