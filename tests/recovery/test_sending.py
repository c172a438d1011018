"""Recovery emails: each step once at its time, none after checkout/recovery/opt-out, retries, rendering."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

from carts.models import Cart
from carts.services import cart_add_item, cart_checkout
from recovery import links as recovery_links
from recovery import sending as recovery_sending
from recovery.models import RecoveryEmail
from recovery.planning import SKIPPED_NOTE
from recovery.sending import (
    CANCELLED_NOTE,
    STUCK_NOTE,
    STUCK_SENDING_AFTER,
    recovery_emails_resend,
    send_due_recovery_emails,
)
from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory
from tests.recovery.factories import RecoveryEmailFactory
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

HOUR = 3600
DAY = 86_400


@pytest.fixture(autouse=True)
def _two_steps(settings):
    settings.CART_RECOVERY_EMAIL_STEPS = [HOUR, DAY]
    settings.CART_RECOVERY_EMAIL_MAX_ATTEMPTS = 3
    settings.SITE_URL = "https://shop.example"
    settings.CART_CURRENCY = "EUR"


@pytest.fixture
def abandoned_cart(clock, shopper, item):
    """A cart with 2 units abandoned at clock.now()."""
    return make_cart(
        user=shopper,
        lines=[(item, 2)],
        status=Cart.Status.ABANDONED,
        abandoned_at=clock.now(),
        last_updated=clock.now(),
    )


def emails_of(cart: Cart) -> dict[int, str]:
    return dict(RecoveryEmail.objects.filter(cart=cart).values_list("step", "status"))


class BrokenBackend(LocmemBackend):
    """A backend whose server refuses every message."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server said no")


def test_nothing_is_sent_before_the_first_step_is_due(abandoned_cart, clock):
    clock.advance(seconds=HOUR - 1)

    result = send_due_recovery_emails(now=clock.now())

    assert result.sent == 0
    assert mail.outbox == []
    assert emails_of(abandoned_cart) == {}


def test_each_step_is_sent_once_at_its_time(abandoned_cart, clock, shopper):
    clock.advance(seconds=HOUR)
    assert send_due_recovery_emails(now=clock.now()).sent == 1
    assert [message.to for message in mail.outbox] == [[shopper.email]]
    assert mail.outbox[0].subject == "You left something in your cart"

    clock.advance(seconds=300)  # the next scheduler run: nothing new
    assert send_due_recovery_emails(now=clock.now()).sent == 0

    clock.advance(seconds=DAY - HOUR - 300 - 1)  # one second before step 2
    assert send_due_recovery_emails(now=clock.now()).sent == 0

    clock.advance(seconds=1)
    assert send_due_recovery_emails(now=clock.now()).sent == 1
    assert mail.outbox[1].subject == "Your cart is still waiting for you"

    clock.advance(seconds=7 * DAY)
    assert send_due_recovery_emails(now=clock.now()).sent == 0
    assert len(mail.outbox) == 2
    assert emails_of(abandoned_cart) == {1: "sent", 2: "sent"}
    step_1 = RecoveryEmail.objects.get(cart=abandoned_cart, step=1)
    assert step_1.planned_at == abandoned_cart.abandoned_at + timedelta(seconds=HOUR)
    assert step_1.sent_at >= step_1.planned_at
    assert step_1.attempts == 0


def test_a_late_run_sends_only_the_latest_due_step_and_records_the_skipped_one(abandoned_cart, clock):
    clock.advance(seconds=3 * DAY)  # the scheduler was off for three days

    result = send_due_recovery_emails(now=clock.now())

    assert (result.sent, result.skipped) == (1, 1)
    assert len(mail.outbox) == 1
    assert emails_of(abandoned_cart) == {1: "cancelled", 2: "sent"}
    assert RecoveryEmail.objects.get(cart=abandoned_cart, step=1).last_error == SKIPPED_NOTE


def test_an_abandonment_far_older_than_the_last_step_gets_no_reminder(abandoned_cart, clock):
    clock.advance(seconds=30 * DAY)

    assert send_due_recovery_emails(now=clock.now()).sent == 0
    assert emails_of(abandoned_cart) == {}


def test_nothing_is_sent_after_checkout(abandoned_cart, clock, shopper):
    clock.advance(seconds=HOUR)
    cart_checkout(cart_id=abandoned_cart.pk, user=shopper, now=clock.now())
    clock.advance(seconds=DAY)

    assert send_due_recovery_emails(now=clock.now()).sent == 0
    assert mail.outbox == []


def test_nothing_is_sent_after_the_shopper_came_back(abandoned_cart, clock, shopper, item):
    clock.advance(seconds=HOUR - 60)
    cart_add_item(user=shopper, item=item, quantity=1, now=clock.now())
    clock.advance(seconds=2 * DAY)

    assert send_due_recovery_emails(now=clock.now()).sent == 0
    assert mail.outbox == []


def test_nothing_is_sent_to_a_shopper_who_opted_out(abandoned_cart, clock, shopper):
    shopper.email_opt_out = True
    shopper.save()
    clock.advance(seconds=2 * DAY)

    assert send_due_recovery_emails(now=clock.now()).sent == 0
    assert mail.outbox == []


def test_a_planned_step_is_cancelled_if_the_cart_is_checked_out_before_it_goes(abandoned_cart, clock):
    """The claim re-checks the cart: a row planned while the cart was abandoned is not sent after checkout."""
    email = RecoveryEmailFactory(
        cart=abandoned_cart, step=1, planned_at=clock.now(), next_attempt_at=clock.now() + timedelta(minutes=5)
    )
    Cart.objects.filter(pk=abandoned_cart.pk).update(status=Cart.Status.CHECKED_OUT, checked_out_at=clock.now())
    clock.advance(seconds=HOUR)

    result = send_due_recovery_emails(now=clock.now())

    email.refresh_from_db()
    assert (result.sent, result.cancelled) == (0, 1)
    assert (email.status, email.last_error) == ("cancelled", CANCELLED_NOTE)
    assert mail.outbox == []


@pytest.mark.parametrize("change", ["checkout", "opt-out"])
def test_the_claim_itself_cancels_a_due_email_whose_shopper_checked_out_or_opted_out(
    abandoned_cart, clock, shopper, change
):
    """The claim re-checks the cart, not only the send: such a row is never handed to a sender."""
    email = RecoveryEmailFactory(cart=abandoned_cart, step=1, planned_at=clock.now(), next_attempt_at=clock.now())
    if change == "checkout":
        Cart.objects.filter(pk=abandoned_cart.pk).update(status=Cart.Status.CHECKED_OUT, checked_out_at=clock.now())
    else:
        shopper.email_opt_out = True
        shopper.save()
    clock.advance(seconds=HOUR)

    claimed = recovery_sending._claim_batch(now=clock.now(), claimed_at=clock.now(), batch_size=10)

    email.refresh_from_db()
    assert claimed == ([], 1)
    assert (email.status, email.last_error, email.claimed_at) == ("cancelled", CANCELLED_NOTE, None)


def test_a_failing_backend_is_retried_with_backoff_then_marked_failed(abandoned_cart, clock, settings):
    settings.EMAIL_BACKEND = "tests.recovery.test_sending.BrokenBackend"
    clock.advance(seconds=HOUR)

    first = send_due_recovery_emails(now=clock.now())
    email = RecoveryEmail.objects.get(cart=abandoned_cart, step=1)
    assert (first.sent, first.retrying) == (0, 1)
    assert (email.status, email.attempts) == ("pending", 1)
    assert "SMTP server said no" in email.last_error
    assert email.next_attempt_at >= clock.now() + timedelta(minutes=5)

    clock.advance(seconds=60)  # backoff not over: no new attempt
    send_due_recovery_emails(now=clock.now())
    email.refresh_from_db()
    assert email.attempts == 1

    clock.advance(minutes=5)
    send_due_recovery_emails(now=clock.now())
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("pending", 2)
    assert email.next_attempt_at >= clock.now() + timedelta(minutes=10)  # doubled

    clock.advance(minutes=11)
    last = send_due_recovery_emails(now=clock.now())
    email.refresh_from_db()
    assert last.failed == 1
    assert (email.status, email.attempts, email.next_attempt_at) == ("failed", 3, None)
    assert "ConnectionRefusedError: SMTP server said no" in email.last_error

    clock.advance(hours=6)
    send_due_recovery_emails(now=clock.now())
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("failed", 3)


def test_a_failed_email_resent_from_the_admin_goes_out_at_the_next_run(abandoned_cart, clock):
    email = RecoveryEmailFactory(
        cart=abandoned_cart, step=1, status=RecoveryEmail.Status.FAILED, attempts=3, last_error="boom"
    )
    clock.advance(seconds=HOUR)

    assert recovery_emails_resend(email_ids=[email.pk], now=clock.now()) == 1
    assert send_due_recovery_emails(now=clock.now()).sent == 1

    email.refresh_from_db()
    assert (email.status, email.last_error) == ("sent", "")
    assert len(mail.outbox) == 1


def test_one_failing_message_does_not_stop_the_others(clock, item, settings, monkeypatch):
    carts = [make_cart(lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=clock.now()) for _ in range(3)]
    doomed = carts[1].user.email
    original = LocmemBackend.send_messages

    def picky(self, messages):
        if messages[0].to == [doomed]:
            raise OSError("mailbox unavailable")
        return original(self, messages)

    monkeypatch.setattr(LocmemBackend, "send_messages", picky)
    clock.advance(seconds=HOUR)

    result = send_due_recovery_emails(now=clock.now())

    assert (result.sent, result.retrying) == (2, 1)
    assert sorted(message.to[0] for message in mail.outbox) == sorted([carts[0].user.email, carts[2].user.email])


def test_a_row_stuck_in_sending_is_marked_failed_not_sent_twice(abandoned_cart, clock):
    clock.advance(seconds=HOUR)
    email = RecoveryEmailFactory(
        cart=abandoned_cart,
        step=1,
        status=RecoveryEmail.Status.SENDING,
        planned_at=clock.now(),
        claimed_at=clock.now(),
        next_attempt_at=clock.now(),
    )
    clock.advance(seconds=STUCK_SENDING_AFTER.total_seconds() - 1)
    assert send_due_recovery_emails(now=clock.now()).stuck == 0

    clock.advance(seconds=2)
    assert send_due_recovery_emails(now=clock.now()).stuck == 1

    email.refresh_from_db()
    assert (email.status, email.last_error) == ("failed", STUCK_NOTE)
    assert mail.outbox == []


def test_the_email_has_the_name_lines_total_and_both_links(clock, settings):
    settings.CART_RECOVERY_LINK_MAX_AGE_SECONDS = 3 * DAY
    shopper = UserFactory(name="Ada <script>alert(1)</script>")
    mug = ItemFactory(name="Mug & <b>Saucer</b>", price=Decimal("7.50"))
    pen = ItemFactory(name="Pen", price=Decimal("1.25"))
    make_cart(user=shopper, lines=[(mug, 2), (pen, 4)], status=Cart.Status.ABANDONED, abandoned_at=clock.now())
    clock.advance(seconds=HOUR)

    send_due_recovery_emails(now=clock.now())

    (message,) = mail.outbox
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    # The plain text shows names as typed; the HTML escapes them.
    assert "Hello Ada <script>alert(1)</script>," in message.body
    assert "Mug & <b>Saucer</b> × 2 at EUR 7.50 = EUR 15.00" in message.body
    assert "Total: EUR 20.00" in message.body
    assert "works for 3 days" in message.body
    assert "<script>" not in html
    assert "Ada &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Mug &amp; &lt;b&gt;Saucer&lt;/b&gt;" in html
    assert "EUR 20.00" in html
    assert "https://shop.example/cart/recover/" in message.body
    assert 'href="https://shop.example/cart/recover/' in html
    assert "https://shop.example/cart/unsubscribe/" in message.body
    assert message.extra_headers["List-Unsubscribe"].startswith("<https://shop.example/cart/unsubscribe/")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.from_email == settings.DEFAULT_FROM_EMAIL


def test_sending_a_batch_runs_a_bounded_number_of_queries(clock, django_assert_max_num_queries):
    items = [ItemFactory() for _ in range(3)]
    for _ in range(30):
        make_cart(lines=[(it, 1) for it in items], status=Cart.Status.ABANDONED, abandoned_at=clock.now())
    clock.advance(seconds=HOUR)

    # plan: 3 statements per step; claim: cancel + select + update; load: emails + lines; mark sent, in a transaction
    # with its webhook events (one read of the subscribed endpoints; the savepoint and its release, as the test's
    # transaction wraps it); empty claim.
    with django_assert_max_num_queries(23):
        result = send_due_recovery_emails(now=clock.now(), batch_size=100)

    assert result.sent == 30
    assert len(mail.outbox) == 30


def test_sending_in_small_batches_sends_everything_once(clock, item):
    carts = [make_cart(lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=clock.now()) for _ in range(7)]
    clock.advance(seconds=HOUR)

    result = send_due_recovery_emails(now=clock.now(), batch_size=3)

    assert (result.claimed, result.sent) == (7, 7)
    assert sorted(message.to[0] for message in mail.outbox) == sorted(cart.user.email for cart in carts)
    assert RecoveryEmail.objects.filter(status="sent").count() == 7


def test_a_cart_abandoned_again_does_not_get_a_step_twice(abandoned_cart, clock, shopper, item):
    clock.advance(seconds=HOUR)
    send_due_recovery_emails(now=clock.now())
    cart_add_item(user=shopper, item=item, quantity=1, now=clock.now())  # came back
    clock.advance(seconds=600)
    Cart.objects.filter(pk=abandoned_cart.pk).update(status=Cart.Status.ABANDONED, abandoned_at=clock.now())
    clock.advance(seconds=HOUR)

    assert send_due_recovery_emails(now=clock.now()).sent == 0
    clock.advance(seconds=DAY)
    assert send_due_recovery_emails(now=clock.now()).sent == 1
    assert emails_of(abandoned_cart) == {1: "sent", 2: "sent"}


def test_a_planned_step_never_tried_gives_way_when_the_next_step_is_due(abandoned_cart, clock):
    """The scheduler was down between planning step 1 and sending it: step 2 alone goes out, no burst."""
    clock.advance(seconds=HOUR)
    RecoveryEmailFactory(cart=abandoned_cart, step=1, planned_at=clock.now(), next_attempt_at=clock.now())
    clock.advance(seconds=DAY)

    send_due_recovery_emails(now=clock.now())

    assert emails_of(abandoned_cart) == {1: "cancelled", 2: "sent"}
    assert len(mail.outbox) == 1


def test_a_failed_step_resent_by_staff_after_the_next_step_goes_out_as_asked(abandoned_cart, clock):
    clock.advance(seconds=HOUR)
    email = RecoveryEmailFactory(cart=abandoned_cart, step=1, status=RecoveryEmail.Status.FAILED, attempts=3)
    clock.advance(seconds=DAY)
    send_due_recovery_emails(now=clock.now())  # step 2

    recovery_emails_resend(email_ids=[email.pk], now=clock.now())
    send_due_recovery_emails(now=clock.now())

    assert emails_of(abandoned_cart) == {1: "sent", 2: "sent"}
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("change", ["checkout", "opt-out"])
def test_a_claimed_email_is_withdrawn_if_the_shopper_checks_out_or_opts_out_before_it_is_sent(
    abandoned_cart, clock, shopper, monkeypatch, change
):
    """Between the claim and the send (a slow SMTP server, a long batch) the shopper acts: nothing goes out."""
    real_claim = recovery_sending._claim_batch

    def claim_then_shopper_acts(**kwargs):
        claimed = real_claim(**kwargs)
        if not claimed[0]:  # the run's last, empty claim
            return claimed
        if change == "checkout":
            cart_checkout(cart_id=abandoned_cart.pk, user=shopper, now=clock.now())
        else:
            token = recovery_links.make_unsubscribe_token(user_id=shopper.pk)
            recovery_links.recovery_unsubscribe(token=token, now=clock.now())
        return claimed

    monkeypatch.setattr(recovery_sending, "_claim_batch", claim_then_shopper_acts)
    clock.advance(seconds=HOUR)

    result = send_due_recovery_emails(now=clock.now())

    assert mail.outbox == []
    assert result.sent == 0
    assert emails_of(abandoned_cart) == {1: "cancelled"}
