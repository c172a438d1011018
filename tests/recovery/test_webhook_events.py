"""The recovery emails' webhook events (the transactional outbox): recovery_email.sent for the rows a run marks sent,
set-based, and recovery_email.clicked on the first click of a link; none for a failed send, a second click, or a
change that was rolled back."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.test import Client

from carts.models import Cart
from recovery.links import recovery_link_open
from recovery.models import RecoveryEmail
from recovery.sending import send_due_recovery_emails
from recovery.tokens import RecoveryLinkCartCheckedOut, make_recovery_token
from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory
from tests.helpers import run_rolled_back
from tests.recovery.factories import RecoveryEmailFactory, make_campaign
from tests.users.factories import UserFactory
from tests.webhooks.factories import EndpointFactory
from webhooks.models import Event

pytestmark = pytest.mark.django_db

HOUR = 3600


class BrokenBackend(LocmemBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server said no")


@pytest.fixture(autouse=True)
def _one_step_and_a_receiver(settings):
    make_campaign(delays=(HOUR,))
    EndpointFactory()


def _abandoned_carts(count: int, clock) -> list[Cart]:
    item = ItemFactory(price=Decimal("4.00"))
    return [
        make_cart(user=UserFactory(), lines=[(item, n + 1)], status=Cart.Status.ABANDONED, abandoned_at=clock.now())
        for n in range(count)
    ]


def test_each_email_sent_records_one_event_with_its_step_and_its_cart(clock):
    carts = _abandoned_carts(5, clock)
    clock.advance(seconds=HOUR)

    result = send_due_recovery_emails(now=clock.now(), batch_size=2)

    events = Event.objects.order_by("cart_id")
    assert result.sent == 5
    assert [
        (event.type, event.cart_id, event.user_id, event.email, event.status, event.item_count, event.total)
        for event in events
    ] == [
        ("recovery_email.sent", c.pk, c.user_id, c.user.email, "abandoned", n + 1, Decimal("4.00") * (n + 1))
        for n, c in enumerate(carts)
    ]
    assert {event.step for event in events} == {1}
    sent_at = dict(RecoveryEmail.objects.values_list("cart_id", "sent_at"))
    assert all(event.occurred_at == sent_at[event.cart_id] for event in events)


def test_an_email_that_failed_to_send_records_nothing(clock, settings):
    settings.EMAIL_BACKEND = "tests.recovery.test_webhook_events.BrokenBackend"
    _abandoned_carts(2, clock)
    clock.advance(seconds=HOUR)

    assert send_due_recovery_emails(now=clock.now()).retrying == 2
    assert not Event.objects.exists()


def test_a_run_rolled_back_leaves_no_event(clock):
    _abandoned_carts(2, clock)
    clock.advance(seconds=HOUR)

    assert run_rolled_back(lambda: send_due_recovery_emails(now=clock.now())).sent == 2

    assert not Event.objects.exists()
    assert not RecoveryEmail.objects.exists()


@pytest.fixture
def sent_email(clock):
    (cart,) = _abandoned_carts(1, clock)
    return RecoveryEmailFactory(cart=cart, step=1, status=RecoveryEmail.Status.SENT, sent_at=clock.now())


def test_the_first_click_records_clicked_after_the_carts_recovery_and_a_second_click_nothing(clock, sent_email):
    token = make_recovery_token(cart_id=sent_email.cart_id, email_id=sent_email.pk)
    clock.advance(minutes=5)

    recovery_link_open(token=token, now=clock.now())
    recovery_link_open(token=token, now=clock.now() + timedelta(minutes=1))

    events = list(Event.objects.order_by("id").values_list("type", "cart_id", "status", "step", "occurred_at"))
    assert events == [
        ("cart.recovered", sent_email.cart_id, "active", None, clock.now()),
        ("recovery_email.clicked", sent_email.cart_id, "active", 1, clock.now()),
    ]


def test_restoring_the_cart_from_the_recovery_page_records_the_click(sent_email):
    link = f"/cart/recover/{make_recovery_token(cart_id=sent_email.cart_id, email_id=sent_email.pk)}"

    Client().get(link)  # what a mail scanner does: no event
    assert not Event.objects.exists()
    Client().post(link)  # what the page does in a person's browser

    assert set(Event.objects.values_list("type", flat=True)) == {"cart.recovered", "recovery_email.clicked"}


def test_a_link_to_a_checked_out_cart_records_nothing(clock, sent_email):
    Cart.objects.filter(pk=sent_email.cart_id).update(status=Cart.Status.CHECKED_OUT, checked_out_at=clock.now())

    with pytest.raises(RecoveryLinkCartCheckedOut):
        recovery_link_open(
            token=make_recovery_token(cart_id=sent_email.cart_id, email_id=sent_email.pk), now=clock.now()
        )

    assert not Event.objects.exists()


def test_a_click_rolled_back_leaves_no_event(clock, sent_email):
    token = make_recovery_token(cart_id=sent_email.cart_id, email_id=sent_email.pk)

    run_rolled_back(lambda: recovery_link_open(token=token, now=clock.now()))

    assert not Event.objects.exists()
    sent_email.refresh_from_db()
    assert sent_email.clicked_at is None
