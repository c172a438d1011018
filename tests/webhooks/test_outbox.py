"""webhooks.outbox, as the emitters use it: what is recorded, and only when an active endpoint wants it."""

from decimal import Decimal

import pytest
from django.db.models import F, Value

from tests.webhooks.factories import EndpointFactory, EventFactory
from webhooks import outbox
from webhooks.models import Event

pytestmark = pytest.mark.django_db

DATA = {
    "cart_id": 7,
    "user_id": None,
    "email": "guest@example.com",
    "status": "abandoned",
    "item_count": 3,
    "total": Decimal("10.50"),
}


def test_an_event_is_recorded_only_while_an_active_endpoint_subscribes_to_its_type(clock):
    assert not outbox.record_event(type="cart.abandoned", occurred_at=clock.now(), **DATA)
    EndpointFactory(active=False)
    EndpointFactory(event_types=["cart.checked_out"])
    assert not outbox.record_event(type="cart.abandoned", occurred_at=clock.now(), **DATA)

    EndpointFactory(event_types=["cart.abandoned", "cart.recovered"])
    assert outbox.record_event(type="cart.abandoned", occurred_at=clock.now(), coupon="SAVE10", step=2, **DATA)

    event = Event.objects.get()
    assert (event.cart_id, event.user_id, event.total, event.step, event.coupon) == (
        7,
        None,
        Decimal("10.50"),
        2,
        "SAVE10",
    )


def test_an_unknown_type_is_a_programming_error_not_a_silent_drop(clock):
    with pytest.raises(outbox.UnknownEventType):
        outbox.record_event(type="cart.exploded", occurred_at=clock.now(), **DATA)


def test_the_set_based_writer_records_one_event_per_row_from_the_rows_own_columns(clock):
    EndpointFactory()
    sources = [EventFactory(type="cart.checked_out", total=Decimal(n)) for n in (1, 2, 3)]

    written = outbox.record_events(
        type="cart.recovered",
        occurred_at=clock.now(),
        rows=Event.objects.filter(pk__in=[source.pk for source in sources[:2]]),
        columns={
            "cart_id": "cart_id",
            "user_id": "user_id",
            "email": F("email"),
            "status": Value("active"),
            "item_count": "item_count",
            "total": "total",
        },
    )

    copies = Event.objects.filter(type="cart.recovered").order_by("cart_id")
    assert written == 2
    assert [(e.cart_id, e.email, e.status, e.total, e.step, e.occurred_at) for e in copies] == [
        (s.cart_id, s.email, "active", s.total, None, clock.now()) for s in sources[:2]
    ]


def test_the_set_based_writer_wants_every_required_column(clock):
    with pytest.raises(ValueError, match="missing"):
        outbox.record_events(type="cart.recovered", occurred_at=clock.now(), rows=Event.objects.all(), columns={})
