"""The webhooks in the admin: the secret shown once (on creation and on rotation), every attempt of a delivery, and
replay."""

import re

import pytest

from tests.webhooks.factories import DeliveryFactory, EndpointFactory, EventFactory
from tests.webhooks.receivers import answer
from webhooks.models import Attempt, Delivery, Endpoint

pytestmark = pytest.mark.django_db

ADD = "/admin/webhooks/endpoint/add/"
ENDPOINTS = "/admin/webhooks/endpoint/"
DELIVERIES = "/admin/webhooks/delivery/"


def _secrets_shown(response) -> list[str]:
    return re.findall(r"whsec_[A-Za-z0-9+/=]+", response.content.decode())


def test_adding_an_endpoint_shows_its_secret_once(admin_browser):
    response = admin_browser.post(
        ADD,
        {
            "url": "https://crm.example.com/hooks",
            "description": "CRM",
            "event_types": ["cart.abandoned"],
            "active": "on",
        },
    )

    endpoint = Endpoint.objects.get()
    assert response.status_code == 200
    assert _secrets_shown(response) == [endpoint.secret]
    assert endpoint.event_types == ["cart.abandoned"]
    for page in (f"{ENDPOINTS}{endpoint.pk}/change/", ENDPOINTS, f"{ENDPOINTS}{endpoint.pk}/history/"):
        shown = admin_browser.get(page)
        assert shown.status_code == 200
        assert _secrets_shown(shown) == []


def test_a_bad_url_in_the_admin_is_shown_on_the_form_and_nothing_is_saved(admin_browser):
    response = admin_browser.post(ADD, {"url": "http://10.0.0.7/hooks", "active": "on"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["url"]
    assert not Endpoint.objects.exists()


def test_rotating_shows_each_new_secret_once_and_retires_the_old_one(admin_browser):
    first, second = EndpointFactory(), EndpointFactory()
    old = {first.secret, second.secret}

    response = admin_browser.post(ENDPOINTS, {"action": "rotate_secret", "_selected_action": [first.pk, second.pk]})

    first.refresh_from_db()
    second.refresh_from_db()
    assert response.status_code == 200
    assert _secrets_shown(response) == [first.secret, second.secret]
    assert not old & {first.secret, second.secret}


def test_a_delivery_shows_its_body_and_each_attempt(admin_browser):
    delivery = DeliveryFactory(attempts=1, last_error="receiver answered HTTP 503")
    Attempt.objects.create(
        delivery=delivery,
        attempted_at=delivery.created_at,
        status_code=503,
        latency_ms=41,
        response_excerpt="maintenance until 3pm",
        error="receiver answered HTTP 503",
    )

    page = admin_browser.get(f"{DELIVERIES}{delivery.pk}/change/").content.decode()

    assert "maintenance until 3pm" in page
    assert "receiver answered HTTP 503" in page
    assert "&quot;cart.abandoned&quot;" in page  # the body
    assert delivery.webhook_id in page


def test_replay_from_the_admin_sends_again_with_the_same_webhook_id(admin_browser, settings, start_receiver):
    settings.CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    receiver = start_receiver(lambda handler, request: answer(handler, status=200))
    delivery = DeliveryFactory(endpoint=EndpointFactory(url=receiver.url()), status="failed", next_attempt_at=None)
    refused = DeliveryFactory(endpoint=EndpointFactory(active=False))

    response = admin_browser.post(
        DELIVERIES, {"action": "replay", "_selected_action": [delivery.pk, refused.pk]}, follow=True
    )

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert [request.headers["webhook-id"] for request in receiver.requests] == [delivery.webhook_id]
    assert Attempt.objects.get().replay
    shown = [str(message) for message in response.context["messages"]]
    assert any("1 delivered" in message for message in shown)
    assert any(f"#{refused.pk}" in message and "inactive" in message for message in shown)


def test_the_lists_run_a_bounded_number_of_queries(admin_browser, django_assert_max_num_queries):
    for _ in range(20):
        DeliveryFactory()
        EventFactory()

    for page in (DELIVERIES, ENDPOINTS, "/admin/webhooks/event/"):
        with django_assert_max_num_queries(12):
            assert admin_browser.get(page).status_code == 200
