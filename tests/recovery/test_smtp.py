"""Recovery emails through a real SMTP server on loopback (aiosmtpd, started by the test)."""

import email
import email.policy
import socket
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from carts.models import Cart
from recovery.models import RecoveryEmail
from recovery.sending import send_due_recovery_emails
from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory
from tests.users.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("campaign")]


class Inbox:
    """An aiosmtpd handler that keeps every delivered message."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    # aiosmtpd's start() connects to its own port to check it is up, so it needs a real port, not 0.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 10
        yield inbox
    finally:
        controller.stop()


def test_a_reminder_is_delivered_over_smtp_with_both_parts_and_a_working_link(smtp_server, clock, settings):
    settings.SITE_URL = "http://testserver"
    settings.CART_RECOVERY_REDIRECT_URL = ""
    settings.DEFAULT_FROM_EMAIL = "Shop <shop@example.com>"
    shopper = UserFactory(name="Zoë Ünicode", email="zoe@example.com", name_vouched=True)
    lamp = ItemFactory(name="Lamp “Nordic”", price=Decimal("42.00"))
    cart = make_cart(user=shopper, lines=[(lamp, 1)], status=Cart.Status.ABANDONED, abandoned_at=clock.now())
    clock.advance(seconds=3600)

    result = send_due_recovery_emails(now=clock.now())

    assert result.sent == 1
    ((mail_from, recipients, raw),) = smtp_server.messages
    assert mail_from == "shop@example.com"
    assert recipients == ["zoe@example.com"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == "You left something in your cart"
    assert message["To"] == "zoe@example.com"
    assert message["List-Unsubscribe"].strip().startswith("<http://testserver/cart/unsubscribe/")
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    for part in (text, html):
        assert "Hello Zoë," in part
        assert "USD 42.00" in part
    assert "Lamp “Nordic”" in text
    link = next(word for word in text.split() if "/cart/recover/" in word)
    assert link in html

    response = Client().post(link.removeprefix("http://testserver"))  # the recovery page's POST

    assert response.status_code == 200
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ACTIVE
    assert cart.recovery_source == Cart.RecoverySource.EMAIL_LINK
    assert RecoveryEmail.objects.get(cart=cart).clicked_at is not None


def test_an_unreachable_smtp_server_is_a_retried_attempt_with_the_error_kept(clock, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 9  # discard port: nothing listens, the connection is refused at once
    settings.EMAIL_TIMEOUT = 5
    cart = make_cart(lines=[(ItemFactory(), 1)], status=Cart.Status.ABANDONED, abandoned_at=clock.now())
    clock.advance(seconds=3600)

    result = send_due_recovery_emails(now=clock.now())

    row = RecoveryEmail.objects.get(cart=cart)
    assert (result.sent, result.retrying) == (0, 1)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "Connection" in row.last_error or "refused" in row.last_error
    assert row.next_attempt_at > clock.now() + timedelta(minutes=4)
