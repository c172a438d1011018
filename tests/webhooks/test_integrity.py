"""`check_integrity` and the webhooks: clean after the services, the sweep, the emails, a click and a delivery run made
events; loud for an event without its change, or a delivery without its event or its successful attempt."""

import json
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from carts.services import cart_add_item, cart_checkout
from carts.sweep import sweep_abandoned_carts
from recovery.links import recovery_link_open
from recovery.models import RecoveryEmail
from recovery.sending import send_due_recovery_emails
from recovery.tokens import make_recovery_token
from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory
from tests.recovery.factories import make_campaign
from tests.users.factories import UserFactory
from tests.webhooks.factories import DeliveryFactory, EndpointFactory, EventFactory
from tests.webhooks.receivers import answer
from webhooks.delivery import deliver_due_webhooks
from webhooks.models import Delivery, Event

pytestmark = pytest.mark.django_db


def broken_rules() -> dict[str, int]:
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("check_integrity", "--json", stdout=out)
    return {rule["name"]: rule["count"] for rule in json.loads(out.getvalue())["rules"] if rule["count"]}


def test_every_kind_of_event_the_product_writes_passes_every_rule(settings, start_receiver):
    make_campaign(delays=(3600,))
    settings.CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    receiver = start_receiver(lambda handler, request: answer(handler, status=200))
    EndpointFactory(url=receiver.url())
    item = ItemFactory(price=Decimal("3.00"))
    start = timezone.now() - timedelta(hours=3)
    shoppers = UserFactory.create_batch(3)
    carts = [cart_add_item(user=shopper, item=item, quantity=2, now=start)[0] for shopper in shoppers]
    sweep_abandoned_carts(now=start + timedelta(hours=1))  # three cart.abandoned
    send_due_recovery_emails(now=start + timedelta(hours=2))  # three recovery_email.sent
    email = RecoveryEmail.objects.get(cart=carts[0])
    recovery_link_open(token=make_recovery_token(cart_id=carts[0].pk, email_id=email.pk), now=timezone.now())
    cart_checkout(cart_id=carts[1].pk, user=shoppers[1], now=timezone.now())  # recovered, then checked out
    deliver_due_webhooks(now=timezone.now())

    out = StringIO()
    call_command("check_integrity", stdout=out)

    assert set(Event.objects.values_list("type", flat=True)) == set(Event.Type.values)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert "broken" not in out.getvalue().lower()


@contextmanager
def _type_check_off():
    """Let a row past the table's own check of the type, the way a downgrade would leave one."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA ignore_check_constraints = ON")
        else:
            cursor.execute("ALTER TABLE webhooks_event DROP CONSTRAINT webhooks_event_type_known")
    try:
        yield
    finally:
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")


def test_an_event_of_an_unknown_type_is_reported():
    with _type_check_off():
        Event.objects.filter(pk=EventFactory().pk).update(type="cart.exploded")

    assert broken_rules() == {"webhook_event_type_known": 1}


def test_a_delivery_whose_event_is_gone_or_never_fanned_out_is_reported():
    orphan, early = DeliveryFactory(), DeliveryFactory()
    with connection.cursor() as cursor:  # around the ORM's cascade; the deferred foreign key never gets to commit
        cursor.execute("DELETE FROM webhooks_event WHERE id = %s", [orphan.event_id])
    Event.objects.filter(pk=early.event_id).update(fanned_out_at=None)

    assert broken_rules() == {"webhook_delivery_has_event": 1, "webhook_delivery_of_fanned_out_event": 1}
    Delivery.objects.filter(pk=orphan.pk).delete()  # or the test's own constraint check at teardown fails


def test_a_delivery_marked_delivered_without_a_2xx_attempt_is_reported():
    DeliveryFactory(status="delivered", delivered_at=timezone.now(), next_attempt_at=None)

    assert broken_rules() == {"webhook_delivered_has_2xx_attempt": 1}


def test_events_whose_carts_do_not_show_the_change_are_reported(clock):
    item = ItemFactory()
    active = make_cart(lines=[(item, 1)])
    for event_type in ("cart.abandoned", "cart.recovered", "cart.checked_out"):
        EventFactory(type=event_type, cart_id=active.pk, occurred_at=clock.now())
    EventFactory(type="cart.abandoned", cart_id=active.pk + 1000)  # its cart is gone (retention): not judged

    assert broken_rules() == {
        "abandoned_event_has_its_abandonment": 1,
        "recovered_event_has_its_recovery": 1,
        "checked_out_event_has_its_checkout": 1,
    }


def test_email_events_without_their_email_change_are_reported(clock):
    cart = make_cart(lines=[(ItemFactory(), 1)])
    RecoveryEmail.objects.create(cart=cart, step=1, planned_at=clock.now())  # pending: neither sent nor clicked
    EventFactory(type="recovery_email.sent", cart_id=cart.pk, step=1, occurred_at=clock.now())
    EventFactory(type="recovery_email.clicked", cart_id=cart.pk, step=1, occurred_at=clock.now())

    assert broken_rules() == {"sent_event_has_its_email": 1, "clicked_event_has_its_click": 1}
