"""The recovery link (/cart/recover/<token>) and the unsubscribe link (/cart/unsubscribe/<token>)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from carts.models import Cart
from recovery.models import RecoveryEmail
from recovery.sending import send_due_recovery_emails
from recovery.tokens import RECOVERY_LINK_SALT, make_recovery_token, make_unsubscribe_token
from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory
from tests.recovery.factories import RecoveryEmailFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("campaign")]


@pytest.fixture
def browser() -> Client:
    """An anonymous browser: the links work without logging in."""
    return Client()


@pytest.fixture
def abandoned_cart(shopper):
    mug = ItemFactory(name="Mug <i>blue</i>", price=Decimal("7.50"))
    abandoned_at = timezone.now() - timedelta(hours=2)
    return make_cart(
        user=shopper,
        lines=[(mug, 2)],
        status=Cart.Status.ABANDONED,
        abandoned_at=abandoned_at,
        last_updated=abandoned_at,
    )


@pytest.fixture
def sent_email(abandoned_cart):
    return RecoveryEmailFactory(
        cart=abandoned_cart, step=1, status=RecoveryEmail.Status.SENT, sent_at=timezone.now() - timedelta(hours=1)
    )


def recover_path(token: str) -> str:
    return f"/cart/recover/{token}"


def test_opening_a_link_shows_the_cart_and_changes_nothing(browser, abandoned_cart, sent_email):
    """Mail scanners fetch every link of an email: a GET must not count as the shopper coming back."""
    token = make_recovery_token(cart_id=abandoned_cart.pk, email_id=sent_email.pk)

    response = browser.get(recover_path(token))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Mug &lt;i&gt;blue&lt;/i&gt;" in page
    assert "USD 15.00" in page
    assert 'id="restore-cart"' in page  # the page restores the cart with a POST: its script, or its button
    assert "/static/recovery/restore.js" in page
    abandoned_cart.refresh_from_db()
    sent_email.refresh_from_db()
    assert abandoned_cart.status == Cart.Status.ABANDONED
    assert abandoned_cart.recovered_at is None
    assert sent_email.clicked_at is None


def test_the_pages_post_reactivates_the_cart_records_the_click_and_leads_to_the_shop(
    browser, abandoned_cart, sent_email, settings
):
    settings.CART_RECOVERY_REDIRECT_URL = ""
    token = make_recovery_token(cart_id=abandoned_cart.pk, email_id=sent_email.pk)

    response = browser.post(recover_path(token))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Your cart is restored" in page
    assert 'id="to-the-shop" href="http://127.0.0.1:8000/"' in page  # the storefront (CART_STOREFRONT_URL)
    abandoned_cart.refresh_from_db()
    sent_email.refresh_from_db()
    assert abandoned_cart.status == Cart.Status.ACTIVE
    assert abandoned_cart.recovered_at is not None
    assert abandoned_cart.recovery_source == Cart.RecoverySource.EMAIL_LINK
    assert abandoned_cart.abandoned_at is not None  # kept for the report
    assert sent_email.clicked_at is not None


def test_opening_the_link_twice_keeps_the_first_click(browser, abandoned_cart, sent_email):
    token = make_recovery_token(cart_id=abandoned_cart.pk, email_id=sent_email.pk)
    browser.post(recover_path(token))
    sent_email.refresh_from_db()
    first_click = sent_email.clicked_at

    assert browser.post(recover_path(token)).status_code in (200, 302)

    sent_email.refresh_from_db()
    assert sent_email.clicked_at == first_click


@pytest.mark.parametrize(
    ("redirect_setting", "expected"),
    [
        ("https://shop.example/cart", "https://shop.example/cart?cart_id={id}"),
        ("https://shop.example/cart?utm_source=email", "https://shop.example/cart?utm_source=email&cart_id={id}"),
        ("https://shop.example/carts/{cart_id}/", "https://shop.example/carts/{id}/"),
    ],
)
def test_a_configured_shop_url_receives_the_shopper_with_the_cart_id(
    browser, abandoned_cart, settings, redirect_setting, expected
):
    settings.CART_RECOVERY_REDIRECT_URL = redirect_setting
    token = make_recovery_token(cart_id=abandoned_cart.pk, email_id=None)

    response = browser.post(recover_path(token))

    assert response.status_code == 302
    assert response["Location"] == expected.format(id=abandoned_cart.pk)
    abandoned_cart.refresh_from_db()
    assert abandoned_cart.status == Cart.Status.ACTIVE


def test_a_tampered_link_gets_a_clear_400_page_and_changes_nothing(browser, abandoned_cart):
    token = make_recovery_token(cart_id=abandoned_cart.pk, email_id=None)
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")

    response = browser.get(recover_path(tampered))

    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()
    abandoned_cart.refresh_from_db()
    assert abandoned_cart.status == Cart.Status.ABANDONED


def test_a_link_naming_another_cart_cannot_be_forged(browser, abandoned_cart, other_shopper, item):
    """Changing the payload to another cart's id breaks the signature."""
    other_cart = make_cart(user=other_shopper, lines=[(item, 1)], status="abandoned", abandoned_at=timezone.now())
    token = make_recovery_token(cart_id=abandoned_cart.pk, email_id=None)
    forged_payload = signing.b64_encode(f'{{"c":{other_cart.pk},"e":null}}'.encode()).decode()
    forged = forged_payload + token[token.index(":") :]

    assert browser.get(recover_path(forged)).status_code == 400
    other_cart.refresh_from_db()
    assert other_cart.status == Cart.Status.ABANDONED


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a:b:c",
        "%00",
        "x" * 3000,
        signing.dumps({"c": 1, "e": None}, salt="some-other-purpose"),
        signing.dumps({"u": 1}, salt="carts.unsubscribe"),  # an unsubscribe token is not a recovery token
        signing.dumps(["not", "a", "dict"], salt=RECOVERY_LINK_SALT),
        signing.dumps({"c": "1"}, salt=RECOVERY_LINK_SALT),
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_malformed_or_foreign_tokens_get_a_400_page_never_a_500(browser, token, method):
    response = getattr(browser, method)(recover_path(token))

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_an_expired_link_gets_a_410_page(browser, abandoned_cart, settings, monkeypatch):
    settings.CART_RECOVERY_LINK_MAX_AGE_SECONDS = 3600
    signed_at = 1_700_000_000
    monkeypatch.setattr("time.time", lambda: signed_at)
    token = make_recovery_token(cart_id=abandoned_cart.pk, email_id=None)
    monkeypatch.setattr("time.time", lambda: signed_at + 3601)

    response = browser.get(recover_path(token))

    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    abandoned_cart.refresh_from_db()
    assert abandoned_cart.status == Cart.Status.ABANDONED


def test_a_link_for_a_checked_out_cart_says_it_was_already_ordered(browser, abandoned_cart, sent_email):
    Cart.objects.filter(pk=abandoned_cart.pk).update(status=Cart.Status.CHECKED_OUT, checked_out_at=timezone.now())
    token = make_recovery_token(cart_id=abandoned_cart.pk, email_id=sent_email.pk)

    response = browser.get(recover_path(token))

    assert response.status_code == 409
    assert "You already ordered this cart" in response.content.decode()
    abandoned_cart.refresh_from_db()
    assert abandoned_cart.status == Cart.Status.CHECKED_OUT


def test_a_link_for_a_deleted_cart_gets_a_404_page(browser, abandoned_cart):
    token = make_recovery_token(cart_id=abandoned_cart.pk, email_id=None)
    abandoned_cart.delete()

    response = browser.get(recover_path(token))

    assert response.status_code == 404
    assert "This cart no longer exists" in response.content.decode()


def test_a_link_on_a_cart_that_came_back_on_its_own_keeps_that_attribution(browser, abandoned_cart, sent_email):
    Cart.objects.filter(pk=abandoned_cart.pk).update(
        status=Cart.Status.ACTIVE, recovered_at=timezone.now(), recovery_source=Cart.RecoverySource.RETURNED
    )
    token = make_recovery_token(cart_id=abandoned_cart.pk, email_id=sent_email.pk)

    assert browser.post(recover_path(token)).status_code == 200

    abandoned_cart.refresh_from_db()
    assert abandoned_cart.recovery_source == Cart.RecoverySource.RETURNED


def test_the_link_in_a_sent_email_recovers_the_cart(browser, abandoned_cart, settings):
    settings.CART_RECOVERY_REDIRECT_URL = ""
    send_due_recovery_emails(now=timezone.now())
    (message,) = mail.outbox
    link = next(word for word in message.body.split() if "/cart/recover/" in word)

    page = browser.get(link.removeprefix(settings.SITE_URL))
    assert page.status_code == 200
    response = browser.post(link.removeprefix(settings.SITE_URL))  # what the page does

    assert response.status_code == 200
    abandoned_cart.refresh_from_db()
    assert abandoned_cart.recovery_source == Cart.RecoverySource.EMAIL_LINK
    assert RecoveryEmail.objects.get(cart=abandoned_cart).clicked_at is not None


# --- Unsubscribe --------------------------------------------------------------------------------------------------


def test_unsubscribe_get_only_asks_for_confirmation(browser, shopper):
    """Link scanners fetch URLs; a GET must not change anything."""
    response = browser.get(f"/cart/unsubscribe/{make_unsubscribe_token(user_id=shopper.pk)}")

    assert response.status_code == 200
    assert "<form" in response.content.decode()
    shopper.refresh_from_db()
    assert shopper.email_opt_out is False


def test_unsubscribe_post_opts_out_and_cancels_waiting_reminders(browser, shopper, abandoned_cart):
    waiting = RecoveryEmailFactory(cart=abandoned_cart, step=2, status=RecoveryEmail.Status.PENDING)

    response = browser.post(f"/cart/unsubscribe/{make_unsubscribe_token(user_id=shopper.pk)}")

    assert response.status_code == 200
    assert "no more cart reminders" in response.content.decode()
    shopper.refresh_from_db()
    waiting.refresh_from_db()
    assert shopper.email_opt_out is True
    assert waiting.status == RecoveryEmail.Status.CANCELLED


def test_one_click_unsubscribe_from_a_mail_client_works_without_csrf(shopper):
    """RFC 8058: the mail client POSTs List-Unsubscribe=One-Click, with no cookie and no CSRF token."""
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        f"/cart/unsubscribe/{make_unsubscribe_token(user_id=shopper.pk)}", {"List-Unsubscribe": "One-Click"}
    )

    assert response.status_code == 200
    shopper.refresh_from_db()
    assert shopper.email_opt_out is True


def test_unsubscribe_link_in_the_email_stops_later_steps(browser, abandoned_cart, settings, shopper):
    send_due_recovery_emails(now=timezone.now())  # the cart was abandoned 2 h ago: step 1
    (message,) = mail.outbox
    link = message.extra_headers["List-Unsubscribe"].strip("<>")

    assert browser.post(link.removeprefix(settings.SITE_URL)).status_code == 200
    send_due_recovery_emails(now=timezone.now() + timedelta(days=1))

    assert len(mail.outbox) == 1
    assert not RecoveryEmail.objects.filter(cart=abandoned_cart, step=2, status="sent").exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_unsubscribe_link_changes_nothing(browser, shopper, method):
    token = make_unsubscribe_token(user_id=shopper.pk)

    response = getattr(browser, method)(f"/cart/unsubscribe/{token}x")

    assert response.status_code == 400
    shopper.refresh_from_db()
    assert shopper.email_opt_out is False


def test_an_unsubscribe_link_for_a_deleted_user_gets_a_clear_page(browser, other_shopper):
    token = make_unsubscribe_token(user_id=other_shopper.pk)
    other_shopper.delete()

    assert browser.post(f"/cart/unsubscribe/{token}").status_code == 400
