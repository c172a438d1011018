"""The OpenAPI schema says what the server does, so that a client generated from it neither crashes on an answer
nor sends what the server refuses (core/schema.py): the CSV report is text, the metrics' nested figures are typed,
fields always present are required, and the bounds the server checks (quantity cap, minimum price, ids, booleans)
are the schema's too. scripts/generated_client_check.py drives a generated client against a running server."""

import re

import pytest
from django.test import Client, override_settings

from tests.api.test_schema_fuzz import _served_schema
from tests.catalog.factories import ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document() -> dict:
    return _served_schema()


def _component(document: dict, node: dict) -> dict:
    while "$ref" in node or "allOf" in node:
        node = node["allOf"][0] if "allOf" in node else node
        if "$ref" in node:
            node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def test_the_csv_report_is_described_as_text_and_the_json_one_as_rows(document, staff_client):
    content = document["paths"]["/cart/report"]["get"]["responses"]["200"]["content"]

    assert content["text/csv"]["schema"]["type"] == "string"
    assert content["application/json"]["schema"]["type"] == "array"
    assert _component(document, content["application/json"]["schema"]["items"])["properties"]["cart_id"]
    response = staff_client.get("/cart/report?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    assert b"".join(response.streaming_content).decode().startswith("cart_id,")


def test_the_metrics_nested_figures_are_a_typed_component(document):
    metrics = document["components"]["schemas"]["ReportMetrics"]["properties"]

    for name in ("recovered_via_email_link", "recovered_on_their_own"):
        nested = _component(document, metrics[name])
        assert set(nested["properties"]) == {"carts", "revenue"}
        assert nested["properties"]["carts"]["type"] == "integer"
        assert set(nested["required"]) == {"carts", "revenue"}


@pytest.mark.parametrize(
    "component", ["Cart", "CartLine", "CartViewOutput", "Item", "PaginatedCartList", "ReportMetrics", "ReportRow"]
)
def test_every_field_of_an_answer_is_required(document, component):
    schema = document["components"]["schemas"][component]

    assert set(schema["required"]) == set(schema["properties"])


def test_request_bodies_keep_their_optional_fields(document):
    cart_add = document["components"]["schemas"]["CartAddInputRequest"]

    assert cart_add["required"] == ["item_id"]


def _quantity(document: dict) -> dict:
    return document["components"]["schemas"]["CartAddInputRequest"]["properties"]["quantity"]


def test_the_quantity_cap_is_in_the_schema_and_the_server_holds_it(document, shopper_client, item, settings):
    assert _quantity(document)["maximum"] == settings.CART_MAX_QUANTITY == 999

    over = shopper_client.post("/cart/add", {"item_id": item.pk, "quantity": 1000}, format="json")
    at = shopper_client.post("/cart/add", {"item_id": item.pk, "quantity": 999}, format="json")

    assert (over.status_code, list(over.json())) == (400, ["quantity"])
    assert at.status_code == 200


@override_settings(CART_MAX_QUANTITY=5)
def test_the_schema_follows_the_quantity_setting(shopper_client, item):
    assert _quantity(_served_schema())["maximum"] == 5
    assert shopper_client.post("/cart/add", {"item_id": item.pk, "quantity": 6}, format="json").status_code == 400


def _price(document: dict, component: str) -> dict:
    return document["components"]["schemas"][component]["properties"]["price"]


@pytest.mark.parametrize(
    ("price", "accepted"), [("0.01", True), ("19.99", True), ("0", False), ("0.00", False), ("-1.00", False)]
)
def test_the_schema_and_the_server_agree_on_the_lowest_price(document, staff_client, price, accepted):
    number, string = _price(document, "ItemRequest")["oneOf"]

    assert number["minimum"] == 0.01
    assert bool(re.match(string["pattern"], price)) is accepted
    # An answer's price never is negative either.
    assert not re.match(_price(document, "Item")["pattern"], "-1.00")
    response = staff_client.post("/api/items/", {"name": "Kettle", "price": price}, format="json")
    assert response.status_code == (201 if accepted else 400)


@pytest.mark.parametrize("value", ["null", "banana", "1", "yes"])
def test_a_boolean_filter_takes_only_true_or_false_as_the_schema_says(document, staff_client, value):
    parameter = next(p for p in document["paths"]["/api/items/"]["get"]["parameters"] if p["name"] == "is_active")

    response = staff_client.get(f"/api/items/?is_active={value}")

    assert parameter["schema"] == {"type": "boolean"}
    assert response.status_code == 400
    assert response.json() == {"is_active": ["Use true or false."]}


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("", {"on sale"}),
        ("?is_active=", {"on sale"}),
        ("?is_active=true", {"on sale"}),
        ("?is_active=false", {"withdrawn"}),
        ("?is_active=False", {"withdrawn"}),
    ],
)
def test_staff_filter_items_on_true_or_false(staff_client, query, shown):
    ItemFactory(name="on sale")
    ItemFactory(name="withdrawn", is_active=False)

    response = staff_client.get(f"/api/items/{query}")

    assert {item["name"] for item in response.json()["results"]} == shown


def test_the_schema_and_the_server_agree_that_a_user_id_starts_at_1(document, staff_client):
    parameter = next(p for p in document["paths"]["/api/carts/"]["get"]["parameters"] if p["name"] == "user")

    assert parameter["schema"]["minimum"] == 1
    assert parameter["schema"]["maximum"] == 2**63 - 1
    assert staff_client.get("/api/carts/?user=0").status_code == 400
    assert staff_client.get("/api/carts/?user=1").status_code == 200


def test_the_csv_rows_are_an_operation_of_their_own_for_generated_clients(document, staff_client, shopper_client):
    # A generated client reads one media type per answer: /api/report/csv/ answers CSV only.
    content = document["paths"]["/api/report/csv/"]["get"]["responses"]["200"]["content"]

    own = staff_client.get("/api/report/csv/?status=abandoned")
    seed = staff_client.get("/cart/report?format=csv&status=abandoned")
    refused = staff_client.get("/api/report/csv/?since=yesterday")

    assert content == {"text/csv": {"schema": {"type": "string"}}}
    assert own["Content-Type"].startswith("text/csv")
    assert b"".join(own.streaming_content) == b"".join(seed.streaming_content)
    assert (refused.status_code, refused["Content-Type"], list(refused.json())) == (400, "application/json", ["since"])
    assert shopper_client.get("/api/report/csv/").status_code == 403
    assert Client().get("/api/report/csv/").status_code == 401


def test_the_token_exchange_needs_no_credential_and_registration_takes_one_or_none(document):
    assert "security" not in document["paths"]["/api/auth/token/"]["post"]
    assert {} in document["paths"]["/user/register"]["post"]["security"]
