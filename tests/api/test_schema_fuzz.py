"""Schema fuzzing: schemathesis drives every operation of /api/schema/ (the seed routes included) in-process, as a
member of staff and as a shopper, and every response must be a documented, schema-conforming non-5xx answer.

Checks left out, and why:
- ``positive_data_acceptance`` (ST202): the contract itself answers 400 to some schema-valid requests, because the
  rule is about the database's state, not the request's shape: checking out an empty cart, registering an email
  already taken, a quantity that would push a line past CART_MAX_QUANTITY, a filter naming an unknown cart.
- ``negative_data_rejection`` (ST201) only for cases whose *query string* alone was made invalid: query filters
  are read like a web form, where an empty value (``?status=``) or ``is_active=null`` means "no filter"
  (django-filter's and DRF's behaviour). Invalid JSON bodies and path parameters must still be rejected.

Examples per operation: 30 by default (the module runs in ~30-70 s); ``SCHEMATHESIS_MAX_EXAMPLES`` raises it.
"""

import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from knox.models import AuthToken
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.catalog.factories import ItemFactory
from tests.users.factories import StaffFactory, UserFactory

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "30"))


def _served_schema() -> dict:
    """What /api/schema/ serves to a shopper, built the way its view builds it. (The route wants a token, and no
    token can exist when the tests are collected, before any database.) tests/test_commands.py checks that the route
    serves exactly this."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema, renderer_context={}))


schema = schemathesis.openapi.from_dict(_served_schema())
schema.app = get_wsgi_application()
schema.location = "/api/schema/"


@pytest.fixture
def _requests_keep_the_test_connection():
    """The app is called in-process; Django closes the connection after each request, which would end the test's
    transaction. Django's own test client unhooks the same signal for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _only_the_query_is_invalid(case) -> bool:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return False
    invalid = {location for location, component in meta.components.items() if component.mode.is_negative}
    return bool(invalid) and invalid <= {ParameterLocation.QUERY}


@schema.parametrize()
@hypothesis_settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
@pytest.mark.usefixtures("_requests_keep_the_test_connection")
@pytest.mark.parametrize("role", ["staff", "shopper"])
def test_every_operation_answers_as_documented_and_never_with_a_server_error(case, role):
    user = StaffFactory() if role == "staff" else UserFactory()
    ItemFactory()  # something to list and to add to a cart
    _, token = AuthToken.objects.create(user=user, expiry=None)
    excluded = [positive_data_acceptance]
    if _only_the_query_is_invalid(case):
        excluded.append(negative_data_rejection)
    # Each request in a savepoint rolled back afterwards: on PostgreSQL a statement the database refuses (answered
    # 400 by the API) aborts the transaction around it, which must not spill into the next example.
    savepoint = transaction.savepoint()
    try:
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, excluded_checks=excluded)
    finally:
        transaction.savepoint_rollback(savepoint)


SEED_BODIES = {
    "/user/register": {"name", "email"},
    "/item/add": {"name", "price"},
    "/cart/add": {"item_id"},
    "/cart/remove": {"cart_id", "item_id"},
    "/cart/checkout": {"cart_id"},
}


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


@pytest.mark.parametrize(("path", "required"), SEED_BODIES.items())
def test_the_schema_describes_each_seed_route_with_its_real_body_and_its_errors(path, required):
    document = schema.raw_schema
    operation = document["paths"][path]["post"]
    body = _resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])
    assert set(body["required"]) == required
    assert {"400", "401", "403", "404", "409", "413"} <= set(operation["responses"])
    error = _resolve(document, operation["responses"]["404"]["content"]["application/json"]["schema"])
    assert error["required"] == ["detail"]
