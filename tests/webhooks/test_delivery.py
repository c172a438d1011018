"""The webhooks run end to end: events fanned out to loopback receivers started here, each request verified by the
standardwebhooks package (an implementation of the scheme that is not ours), retries, the stuck and the expired,
SSRF refusals through the job, and replay."""

import itertools
import json
import socket
import threading
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from core.errors import Conflict
from tests.webhooks.factories import DeliveryFactory, EndpointFactory, EventFactory
from tests.webhooks.receivers import answer
from webhooks.delivery import (
    EXPIRED_NOTE,
    RETRY_WINDOW,
    STUCK_AFTER,
    deliver_due_webhooks,
    delivery_replay,
)
from webhooks.models import Attempt, Delivery, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_allowed(settings):
    """Loopback receivers are private addresses: allowed here, as DEBUG allows them on a developer's machine."""
    settings.CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True


class Script:
    """What a receiver answers, in turn (the last answer repeats), verifying every request's signature with the
    standardwebhooks package: 401 for a signature that does not verify."""

    def __init__(self, secret: str, *statuses: int):
        self.secret = secret
        self.statuses = list(statuses) or [200]
        self.verified: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, handler, request):
        try:
            payload = Webhook(self.secret).verify(request.body, request.headers)
        except WebhookVerificationError as exc:
            answer(handler, status=401, body=str(exc).encode())
            return
        with self.lock:
            self.verified.append(payload)
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        answer(handler, status=status, body=json.dumps({"status": status}).encode())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(now=None, **options):
    return deliver_due_webhooks(now=now or timezone.now(), **options)


# -- the happy path ------------------------------------------------------------------------------------------------


def test_an_event_reaches_a_loopback_receiver_signed_so_that_standardwebhooks_verifies_it(
    private_allowed, start_receiver
):
    endpoint = EndpointFactory(url="http://127.0.0.1:1/")  # the port is set once the receiver listens
    script = Script(endpoint.secret)
    receiver = start_receiver(script)
    endpoint.url = receiver.url("/hooks/cart?shop=7")
    endpoint.save()
    event = EventFactory(type=Event.Type.RECOVERY_EMAIL_SENT, step=2, total=Decimal("12.5"), status="abandoned")

    result = _run()

    delivery = Delivery.objects.get()
    assert (result.events, result.created, result.delivered) == (1, 1, 1)
    assert [request.path for request in receiver.requests] == ["/hooks/cart?shop=7"]
    assert receiver.requests[0].headers["webhook-id"] == delivery.webhook_id
    assert receiver.requests[0].headers["content-type"] == "application/json"
    assert delivery.webhook_id.startswith("msg_")
    assert script.verified == [
        {
            "type": "recovery_email.sent",
            "timestamp": event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": {
                "cart_id": event.cart_id,
                "user_id": event.user_id,
                "email": event.email,
                "status": "abandoned",
                "item_count": 2,
                "total": "12.50",
                "step": 2,
                "coupon": None,
            },
        }
    ]
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    attempt = Attempt.objects.get()
    assert (attempt.status_code, attempt.error, attempt.replay) == (200, "", False)
    assert json.loads(attempt.response_excerpt) == {"status": 200}
    assert attempt.latency_ms >= 0


def test_each_endpoint_gets_the_types_it_subscribes_to_and_an_empty_list_means_all(private_allowed, start_receiver):
    everything = EndpointFactory(event_types=[])
    checkouts_only = EndpointFactory(event_types=["cart.checked_out"])
    inactive = EndpointFactory(active=False)
    for endpoint in (everything, checkouts_only):
        receiver = start_receiver(Script(endpoint.secret))
        endpoint.url = receiver.url()
        endpoint.save()
    EventFactory(type=Event.Type.CART_ABANDONED)
    EventFactory(type=Event.Type.CART_CHECKED_OUT)

    result = _run()

    received = {
        endpoint.pk: sorted(Delivery.objects.filter(endpoint=endpoint).values_list("event__type", flat=True))
        for endpoint in (everything, checkouts_only, inactive)
    }
    assert received == {
        everything.pk: ["cart.abandoned", "cart.checked_out"],
        checkouts_only.pk: ["cart.checked_out"],
        inactive.pk: [],
    }
    assert result.delivered == 3
    assert not Event.objects.filter(fanned_out_at__isnull=True).exists()


def test_an_event_is_fanned_out_once_however_many_runs(private_allowed, start_receiver):
    endpoint = EndpointFactory()
    receiver = start_receiver(Script(endpoint.secret))
    endpoint.url = receiver.url()
    endpoint.save()
    EventFactory()

    _run()
    _run()

    assert Delivery.objects.count() == 1
    assert len(receiver.requests) == 1


# -- retries -------------------------------------------------------------------------------------------------------


def test_a_receiver_down_then_up_gets_the_delivery_retried_with_the_same_webhook_id(private_allowed, start_receiver):
    # Given an endpoint whose receiver is not listening yet
    port = _free_port()
    endpoint = EndpointFactory(url=f"http://127.0.0.1:{port}/hook")
    EventFactory()
    started = timezone.now() - timedelta(minutes=4)  # runs inside the receivers' 5-minute timestamp tolerance

    # When the first run finds nobody listening
    first = _run(started)

    # Then the attempt is logged and a retry planned 30 s later
    delivery = Delivery.objects.get()
    assert (first.retrying, delivery.status, delivery.attempts) == (1, "pending", 1)
    assert "could not connect" in delivery.last_error
    assert timedelta(seconds=30) <= delivery.next_attempt_at - started < timedelta(seconds=31)
    assert _run(started + timedelta(seconds=10)).claimed == 0  # not due yet

    # When the receiver comes up answering 503 once, then 200
    script = Script(endpoint.secret, 503, 200)
    start_receiver(script, port=port)
    _run(started + timedelta(seconds=31))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 2, 503)
    assert timedelta(minutes=1) <= delivery.next_attempt_at - started - timedelta(seconds=31) < timedelta(seconds=61)
    last = _run(started + timedelta(minutes=2))

    # Then it is delivered, and both requests the receiver saw carry the delivery's one webhook-id
    delivery.refresh_from_db()
    assert (last.delivered, delivery.status, delivery.attempts) == (1, "delivered", 3)
    assert len(script.verified) == 2
    assert script.verified[0] == script.verified[1]
    assert list(Attempt.objects.values_list("status_code", flat=True)) == [None, 503, 200]


def test_retries_back_off_exponentially_and_stop_24_hours_after_the_delivery_was_created(private_allowed):
    endpoint = EndpointFactory(url=f"http://127.0.0.1:{_free_port()}/")  # nobody ever listens
    now = timezone.now()
    delivery = DeliveryFactory(endpoint=endpoint, created_at=now, next_attempt_at=now)

    while True:
        delivery.refresh_from_db()
        if delivery.status != "pending":
            break
        _run(delivery.next_attempt_at)

    times = list(Attempt.objects.values_list("attempted_at", flat=True))
    gaps = [round((later - earlier).total_seconds()) for earlier, later in itertools.pairwise(times)]
    assert gaps[:9] == [30, 60, 120, 240, 480, 960, 1920, 3840, 7200]  # doubling, then capped at 2 hours
    assert set(gaps[9:]) == {7200}
    assert delivery.status == "failed"
    assert delivery.next_attempt_at is None
    assert times[-1] <= now + RETRY_WINDOW < times[-1] + timedelta(hours=2)
    assert delivery.attempts == len(times) == 19


def test_an_endpoint_that_fails_is_tried_once_per_run_and_does_not_hold_up_the_others(private_allowed, start_receiver):
    down = EndpointFactory(url=f"http://127.0.0.1:{_free_port()}/")
    up = EndpointFactory()
    receiver = start_receiver(Script(up.secret))
    up.url = receiver.url()
    up.save()
    for _ in range(3):
        EventFactory()

    result = _run()

    assert (result.delivered, result.retrying, result.deferred) == (3, 1, 2)
    assert len(receiver.requests) == 3
    assert sorted(Delivery.objects.filter(endpoint=down).values_list("attempts", flat=True)) == [0, 0, 1]
    assert set(Delivery.objects.filter(endpoint=down).values_list("status", flat=True)) == {"pending"}


def test_a_delivery_stuck_in_delivering_is_sent_again_after_the_timeout(private_allowed, start_receiver):
    endpoint = EndpointFactory()
    script = Script(endpoint.secret)
    receiver = start_receiver(script)
    endpoint.url = receiver.url()
    endpoint.save()
    now = timezone.now()
    claimed = {"status": "delivering", "claim": "6d1a0c3e-0000-4000-8000-000000000001", "next_attempt_at": None}
    stuck = DeliveryFactory(endpoint=endpoint, claimed_at=now - STUCK_AFTER - timedelta(seconds=1), **claimed)
    busy = DeliveryFactory(endpoint=endpoint, claimed_at=now - timedelta(minutes=1), **claimed)

    result = _run(now)

    stuck.refresh_from_db()
    busy.refresh_from_db()
    assert result.stuck == 1
    assert (stuck.status, stuck.attempts) == ("delivered", 2)  # the interrupted try counts
    assert [request.headers["webhook-id"] for request in receiver.requests] == [stuck.webhook_id]
    assert busy.status == "delivering"  # another process may still be sending it
    assert stuck.last_error == ""  # the stuck note, replaced by the successful attempt's empty error


def test_deliveries_an_inactive_endpoint_never_got_fail_24_hours_after_they_were_created():
    now = timezone.now()
    old = DeliveryFactory(endpoint=EndpointFactory(active=False), created_at=now - RETRY_WINDOW - timedelta(seconds=1))
    recent = DeliveryFactory(endpoint=old.endpoint, created_at=now - timedelta(hours=1))

    result = _run(now)

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (result.expired, result.claimed) == (1, 0)
    assert (old.status, old.last_error, old.next_attempt_at) == ("failed", EXPIRED_NOTE, None)
    assert recent.status == "pending"


# -- server-side request forgery --------------------------------------------------------------------------------------


def _resolve(monkeypatch, name: str, address: str) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == name:
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_with_production_settings_a_name_resolving_to_loopback_is_refused_and_logged_as_the_attempts_error(
    settings, monkeypatch, silent_listener
):
    # Given production settings, and an endpoint whose public-looking name now resolves to loopback
    settings.CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    _resolve(monkeypatch, "hooks.shop.example", "127.0.0.1")
    endpoint = EndpointFactory(url=f"https://hooks.shop.example:{silent_listener.port}/hook")
    EventFactory()

    # When the job runs
    result = _run()

    # Then nothing connected, and the refusal is the attempt's error, retried like any failure
    attempt = Attempt.objects.get()
    assert result.retrying == 1
    assert attempt.status_code is None
    assert "refused to connect to 127.0.0.1 (from hooks.shop.example): loopback address" in attempt.error
    assert Delivery.objects.get(endpoint=endpoint).last_error == attempt.error
    assert not silent_listener.was_connected_to()


def test_with_production_settings_an_http_url_saved_while_allowed_is_not_used(settings, silent_listener):
    settings.CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    EndpointFactory(url=f"http://127.0.0.1:{silent_listener.port}/")  # saved under DEBUG, say
    EventFactory()

    _run()

    assert "https" in Attempt.objects.get().error
    assert not silent_listener.was_connected_to()


def test_with_private_addresses_allowed_the_same_receiver_is_reached(settings, start_receiver):
    settings.CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    endpoint = EndpointFactory()
    receiver = start_receiver(Script(endpoint.secret))
    endpoint.url = receiver.url()
    endpoint.save()
    EventFactory()

    assert _run().delivered == 1


# -- replay --------------------------------------------------------------------------------------------------------


@pytest.fixture
def receiving_endpoint(private_allowed, start_receiver):
    endpoint = EndpointFactory()
    endpoint.script = Script(endpoint.secret)
    endpoint.receiver = start_receiver(endpoint.script)
    endpoint.url = endpoint.receiver.url()
    endpoint.save()
    return endpoint


def test_replaying_a_delivered_delivery_sends_it_again_now_with_the_same_webhook_id(receiving_endpoint):
    EventFactory()
    _run()
    delivery = Delivery.objects.get()

    replayed = delivery_replay(delivery_id=delivery.pk, now=timezone.now())

    ids = [request.headers["webhook-id"] for request in receiving_endpoint.receiver.requests]
    assert ids == [delivery.webhook_id, delivery.webhook_id]
    assert (replayed.status, replayed.attempts) == ("delivered", 2)
    assert list(Attempt.objects.values_list("replay", flat=True)) == [False, True]


def test_replaying_a_failed_delivery_that_now_succeeds_makes_it_delivered(receiving_endpoint):
    delivery = DeliveryFactory(endpoint=receiving_endpoint, status="failed", attempts=19, next_attempt_at=None)

    replayed = delivery_replay(delivery_id=delivery.pk, now=timezone.now())

    assert (replayed.status, replayed.attempts, replayed.last_error) == ("delivered", 20, "")


def test_a_replay_that_fails_on_a_finished_delivery_leaves_it_failed_without_new_retries(receiving_endpoint):
    receiving_endpoint.script.statuses = [500]
    delivery = DeliveryFactory(endpoint=receiving_endpoint, status="failed", attempts=19, next_attempt_at=None)

    replayed = delivery_replay(delivery_id=delivery.pk, now=timezone.now())

    assert (replayed.status, replayed.next_attempt_at, replayed.last_status_code) == ("failed", None, 500)


def test_a_delivery_being_sent_or_of_an_inactive_endpoint_is_not_replayed():
    sending = DeliveryFactory(
        status="delivering", claim="6d1a0c3e-0000-4000-8000-000000000002", claimed_at=timezone.now()
    )
    inactive = DeliveryFactory(endpoint=EndpointFactory(active=False))

    with pytest.raises(Conflict, match="being sent"):
        delivery_replay(delivery_id=sending.pk, now=timezone.now())
    with pytest.raises(Conflict, match="inactive"):
        delivery_replay(delivery_id=inactive.pk, now=timezone.now())
    assert not Attempt.objects.exists()


def test_an_idle_run_only_reads(django_assert_max_num_queries):
    EndpointFactory()

    # no event to fan out, nothing stuck, nothing expired, nothing due: four reads, no write lock taken
    with django_assert_max_num_queries(4) as captured:
        _run()

    assert all(query["sql"].lstrip().upper().startswith("SELECT") for query in captured.captured_queries)


def test_a_claim_held_too_long_hands_its_untried_deliveries_back_for_the_next_run(
    private_allowed, start_receiver, monkeypatch
):
    endpoint = EndpointFactory()
    receiver = start_receiver(Script(endpoint.secret))
    endpoint.url = receiver.url()
    endpoint.save()
    for _ in range(3):
        EventFactory()
    monkeypatch.setattr("webhooks.delivery.RELEASE_AFTER", timedelta(0))  # as if the batch had taken 5 minutes

    first = _run()

    assert (first.claimed, first.deferred, len(receiver.requests)) == (3, 3, 0)
    assert set(Delivery.objects.values_list("status", "attempts")) == {("pending", 0)}
    monkeypatch.undo()
    assert _run(timezone.now() + timedelta(seconds=2)).delivered == 3
