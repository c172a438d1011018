"""/api/webhooks/…: staff only; the secret in the answers that issue it and never in a read; URLs checked; deliveries
listed with filters in a bounded number of queries; replay."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from standardwebhooks import Webhook

from tests.helpers import client_for
from tests.webhooks.factories import DeliveryFactory, EndpointFactory, EventFactory
from tests.webhooks.receivers import answer
from webhooks.models import Attempt, Delivery, Endpoint

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/webhooks/endpoints/"
DELIVERIES = "/api/webhooks/deliveries/"


@pytest.fixture
def endpoint():
    return EndpointFactory()


ROUTES = [
    ("get", ENDPOINTS),
    ("post", ENDPOINTS),
    ("get", ENDPOINTS + "{endpoint}/"),
    ("patch", ENDPOINTS + "{endpoint}/"),
    ("delete", ENDPOINTS + "{endpoint}/"),
    ("post", ENDPOINTS + "{endpoint}/rotate-secret/"),
    ("get", DELIVERIES),
    ("get", DELIVERIES + "{delivery}/"),
    ("post", DELIVERIES + "{delivery}/replay/"),
]


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("shopper", 403)])
@pytest.mark.parametrize(("method", "route"), ROUTES, ids=[f"{m} {r}" for m, r in ROUTES])
def test_only_staff_may_use_the_webhooks_api(who, status, method, route, shopper):
    delivery = DeliveryFactory()
    client = client_for(None if who == "anonymous" else shopper)
    url = route.format(endpoint=delivery.endpoint_id, delivery=delivery.pk)

    response = getattr(client, method)(url, {"url": "https://hooks.example.com/x"}, format="json")

    assert response.status_code == status
    assert set(response.json()) == {"detail"}
    assert Endpoint.objects.get().secret == delivery.endpoint.secret  # nothing changed
    assert not Attempt.objects.exists()


def test_creating_an_endpoint_answers_its_secret_once_and_reads_never_show_it(staff_client):
    response = staff_client.post(
        ENDPOINTS,
        {"url": "https://crm.example.com/hooks", "description": "CRM", "event_types": ["cart.abandoned"]},
        format="json",
    )

    assert response.status_code == 201, response.content
    created = response.json()
    endpoint = Endpoint.objects.get()
    assert created == {
        "id": endpoint.pk,
        "url": "https://crm.example.com/hooks",
        "description": "CRM",
        "event_types": ["cart.abandoned"],
        "active": True,
        "created_at": created["created_at"],
        "secret": endpoint.secret,
    }
    assert created["secret"].startswith("whsec_")
    Webhook(created["secret"])  # a secret the reference library takes as it is
    for read in (staff_client.get(ENDPOINTS).content, staff_client.get(f"{ENDPOINTS}{endpoint.pk}/").content):
        assert b"secret" not in read
        assert endpoint.secret.encode() not in read


def test_an_endpoint_with_no_types_given_takes_every_type(staff_client):
    response = staff_client.post(ENDPOINTS, {"url": "https://crm.example.com/hooks"}, format="json")

    assert response.json()["event_types"] == []
    assert Endpoint.objects.get().subscribes_to("recovery_email.clicked")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://files.example.com/drop", "http and https"),
        ("http://crm.example.com/hooks", "https"),
        ("https://user:pass@crm.example.com/hooks", "password"),
        ("https://127.0.0.1/hooks", "loopback"),
        ("https://[::1]:8443/hooks", "loopback"),
        ("https://2130706433/hooks", "loopback"),
        ("https://10.0.0.7/hooks", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://localhost:9000/", "loopback"),
        ("https://shop.localhost/", "loopback"),
        ("https:///nohost", "no host"),
        ("https://crm.example.com:99999/", "not a valid URL"),
        ("https://crm.example.com/a b", "spaces"),
        ("not a url", "spaces"),
        ("crm.example.com/hooks", "http and https"),
        ("", "blank"),
        ("https://" + "a" * 2000 + ".example.com/", "2000"),
    ],
)
def test_a_url_that_cannot_be_an_endpoint_is_400_naming_url(staff_client, url, words):
    response = staff_client.post(ENDPOINTS, {"url": url}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["url"]
    assert words in " ".join(response.json()["url"])
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": 7}, "url"),
        ({"url": "https://crm.example.com/", "event_types": ["cart.exploded"]}, "event_types"),
        ({"url": "https://crm.example.com/", "event_types": "cart.abandoned"}, "event_types"),
        ({"url": "https://crm.example.com/", "event_types": ["cart.abandoned", "cart.abandoned"]}, "event_types"),
        ({"url": "https://crm.example.com/", "active": "maybe"}, "active"),
        ({"url": "https://crm.example.com/", "description": "x" * 201}, "description"),
    ],
)
def test_other_bad_fields_are_400_naming_them(staff_client, body, field):
    response = staff_client.post(ENDPOINTS, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_with_private_addresses_allowed_a_local_http_receiver_is_accepted(staff_client, settings):
    settings.CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True  # DEBUG's default: `make run` posting to a local receiver

    response = staff_client.post(ENDPOINTS, {"url": "http://127.0.0.1:9000/hooks"}, format="json")

    assert response.status_code == 201


def test_staff_edit_an_endpoint_without_touching_its_secret(staff_client, endpoint):
    secret = endpoint.secret

    response = staff_client.patch(
        f"{ENDPOINTS}{endpoint.pk}/", {"active": False, "event_types": ["cart.recovered"]}, format="json"
    )

    assert response.status_code == 200
    assert "secret" not in response.json()
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.event_types, endpoint.secret) == (False, ["cart.recovered"], secret)
    bad = staff_client.patch(f"{ENDPOINTS}{endpoint.pk}/", {"url": "http://10.0.0.1/"}, format="json")
    assert (bad.status_code, list(bad.json())) == (400, ["url"])
    assert (
        staff_client.put(f"{ENDPOINTS}{endpoint.pk}/", {"url": "https://a.example/"}, format="json").status_code == 405
    )


def test_rotating_the_secret_answers_the_new_one_once(staff_client, endpoint):
    old = endpoint.secret

    response = staff_client.post(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/")

    endpoint.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["secret"] == endpoint.secret != old
    assert endpoint.secret.startswith("whsec_")


def test_deleting_an_endpoint_deletes_its_deliveries_and_keeps_the_events(staff_client):
    delivery = DeliveryFactory()

    response = staff_client.delete(f"{ENDPOINTS}{delivery.endpoint_id}/")

    assert response.status_code == 204
    assert not Endpoint.objects.exists()
    assert not Delivery.objects.exists()
    assert delivery.event.__class__.objects.filter(pk=delivery.event_id).exists()


# -- deliveries ------------------------------------------------------------------------------------------------------


def test_deliveries_are_listed_newest_first_and_filtered_by_endpoint_and_status(staff_client):
    first, second = EndpointFactory(), EndpointFactory()
    delivered = DeliveryFactory(
        endpoint=first, status="delivered", delivered_at="2026-01-01T00:00:00Z", next_attempt_at=None
    )
    pending = DeliveryFactory(endpoint=first)
    other = DeliveryFactory(endpoint=second, status="failed", next_attempt_at=None)

    def ids(query=""):
        response = staff_client.get(DELIVERIES + query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [other.pk, pending.pk, delivered.pk]
    assert ids(f"?endpoint={first.pk}") == [pending.pk, delivered.pk]
    assert ids(f"?endpoint={first.pk}&status=delivered") == [delivered.pk]
    assert ids("?status=failed") == [other.pk]
    row = staff_client.get(DELIVERIES).json()["results"][-1]
    assert row["webhook_id"] == delivered.webhook_id
    assert (row["endpoint_id"], row["event_type"], row["status"]) == (first.pk, "cart.abandoned", "delivered")


@pytest.mark.parametrize("query", ["?status=lost", "?endpoint=abc", "?endpoint=0"])
def test_a_bad_delivery_filter_is_400_naming_it(staff_client, query):
    response = staff_client.get(DELIVERIES + query)

    assert response.status_code == 400
    assert list(response.json()) == [query[1:].split("=")[0]]


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_lists_run_a_bounded_number_of_queries_however_many_rows(staff_client):
    DeliveryFactory()
    few = (_count_queries(staff_client, DELIVERIES), _count_queries(staff_client, ENDPOINTS))
    for _ in range(25):
        endpoint = EndpointFactory()
        for _ in range(2):
            DeliveryFactory(endpoint=endpoint)

    many = (_count_queries(staff_client, DELIVERIES), _count_queries(staff_client, ENDPOINTS))

    assert many == few
    assert many[0] <= 3  # the token, the count, the page with its events


def test_a_delivery_shows_its_body_and_every_attempt(staff_client):
    delivery = DeliveryFactory(attempts=2)
    for code in (500, 200):
        Attempt.objects.create(delivery=delivery, attempted_at=delivery.created_at, status_code=code, latency_ms=12)

    with CaptureQueriesContext(connection) as captured:
        body = staff_client.get(f"{DELIVERIES}{delivery.pk}/").json()

    assert [attempt["status_code"] for attempt in body["attempt_log"]] == [500, 200]
    assert body["payload"]["type"] == "cart.abandoned"
    assert body["payload"]["data"]["total"] == "39.98"
    assert len(captured) <= 3


def test_replay_sends_the_delivery_now_and_answers_it_with_the_new_attempt(staff_client, settings, start_receiver):
    settings.CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    receiver = start_receiver(lambda handler, request: answer(handler, status=202))
    delivery = DeliveryFactory(
        endpoint=EndpointFactory(url=receiver.url()), status="failed", attempts=19, next_attempt_at=None
    )

    response = staff_client.post(f"{DELIVERIES}{delivery.pk}/replay/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["attempts"], body["last_status_code"]) == ("delivered", 20, 202)
    assert body["attempt_log"][-1]["replay"] is True
    assert [request.headers["webhook-id"] for request in receiver.requests] == [delivery.webhook_id]


def test_replaying_a_delivery_of_an_inactive_endpoint_is_409(staff_client):
    delivery = DeliveryFactory(endpoint=EndpointFactory(active=False))

    response = staff_client.post(f"{DELIVERIES}{delivery.pk}/replay/")

    assert response.status_code == 409
    assert "inactive" in response.json()["detail"]


def test_an_unknown_delivery_or_endpoint_is_404(staff_client):
    EventFactory()

    assert staff_client.post(f"{DELIVERIES}999999/replay/").status_code == 404
    assert staff_client.get(f"{ENDPOINTS}abc/").status_code == 404
    assert staff_client.get(f"{DELIVERIES}{10**30}/").status_code == 404
