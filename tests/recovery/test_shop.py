"""The shop's identity (issue 12, point 1): one row staff edit in the admin and at /api/shop/, whose first values come
from the environment, and which every reminder and every page a shopper opens shows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from carts.models import Cart
from recovery.models import RecoveryEmail, Shop
from recovery.sending import send_due_recovery_emails
from recovery.shop import current_shop, shop_update
from recovery.tokens import make_recovery_token, make_unsubscribe_token
from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory
from tests.helpers import client_for
from tests.recovery.factories import RecoveryEmailFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("campaign")]

SHOP = {
    "name": "Bean & Leaf",
    "storefront_url": "https://beanandleaf.example/",
    "logo_url": "https://cdn.beanandleaf.example/logo.png",
    "address": "Bean & Leaf Ltd\n12 Market Street\n75001 Paris",
    "support_email": "help@beanandleaf.example",
    "from_email": "Bean & Leaf <orders@beanandleaf.example>",
    "reply_to": "care@beanandleaf.example",
}


@pytest.fixture
def our_shop() -> Shop:
    return shop_update(changes=SHOP)


@pytest.fixture
def abandoned_cart(shopper):
    beans = ItemFactory(name="Espresso beans", price=Decimal("6.75"))
    abandoned_at = timezone.now() - timedelta(hours=2)
    return make_cart(
        user=shopper, lines=[(beans, 2)], status=Cart.Status.ABANDONED, abandoned_at=abandoned_at,
        last_updated=abandoned_at,
    )  # fmt: skip


def _stored() -> dict:
    return Shop.objects.filter(pk=1).values(*SHOP).get()


# --- its first values ---------------------------------------------------------------------------------------------


def test_the_shop_is_created_from_the_settings_the_first_time_it_is_read(settings, staff_client):
    settings.CART_SHOP_NAME = "Corner Coffee"
    settings.CART_STOREFRONT_URL = "https://corner.example/"
    settings.CART_SHOP_LOGO_URL = "https://corner.example/logo.svg"
    settings.CART_SHOP_ADDRESS = "1 Corner Road\nLeeds"
    settings.CART_SHOP_SUPPORT_EMAIL = "help@corner.example"
    settings.CART_SHOP_REPLY_TO = "replies@corner.example"
    settings.DEFAULT_FROM_EMAIL = "Corner Coffee <orders@corner.example>"
    assert not Shop.objects.exists()

    response = staff_client.get("/api/shop/")

    assert response.status_code == 200
    expected = {
        "name": "Corner Coffee",
        "storefront_url": "https://corner.example/",
        "logo_url": "https://corner.example/logo.svg",
        "address": "1 Corner Road\nLeeds",
        "support_email": "help@corner.example",
        "from_email": "Corner Coffee <orders@corner.example>",
        "reply_to": "replies@corner.example",
    }
    assert response.json() == expected
    assert _stored() == expected


def test_the_settings_are_read_once_after_that_the_row_staff_edit_is_the_shop(settings):
    first = current_shop()
    settings.CART_SHOP_NAME = "Renamed in the environment"

    assert current_shop().name == first.name
    assert Shop.objects.count() == 1


# --- GET, PATCH /api/shop/ ----------------------------------------------------------------------------------------


def test_staff_change_some_fields_and_the_others_stay(staff_client, our_shop):
    response = staff_client.patch("/api/shop/", {"name": "Bean and Leaf", "reply_to": ""}, format="json")

    assert response.status_code == 200
    assert response.json() == {**SHOP, "name": "Bean and Leaf", "reply_to": ""}
    assert _stored() == {**SHOP, "name": "Bean and Leaf", "reply_to": ""}
    assert staff_client.get("/api/shop/").json()["name"] == "Bean and Leaf"


@pytest.mark.parametrize("sender", ["orders@shop.example", "Shop <orders@shop.example>"])
def test_the_sender_is_an_address_or_a_name_and_an_address(staff_client, sender):
    response = staff_client.patch("/api/shop/", {"from_email": sender}, format="json")

    assert response.status_code == 200
    assert _stored()["from_email"] == sender


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("shopper", 403)])
def test_only_staff_read_or_change_the_shop(who, expected, shopper, our_shop):
    client = client_for(shopper if who == "shopper" else None)

    assert client.get("/api/shop/").status_code == expected
    assert client.patch("/api/shop/", {"name": "Hijacked"}, format="json").status_code == expected
    assert _stored() == SHOP


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("logo_url", "javascript:alert(1)"),
        ("logo_url", "data:image/png;base64,iVBORw0KGgo="),
        ("logo_url", "ftp://cdn.beanandleaf.example/logo.png"),
        ("logo_url", "http://cdn.beanandleaf.example/logo.png"),  # the test settings are production's: DEBUG off
        ("storefront_url", "javascript:alert(1)"),
        ("storefront_url", "http://beanandleaf.example/"),
        ("storefront_url", "beanandleaf.example"),
        ("storefront_url", ""),
        ("from_email", "not an address"),
        ("from_email", "orders@beanandleaf.example, other@elsewhere.example"),
        ("from_email", "Bean & Leaf <orders@beanandleaf.example>\nBcc: everyone@victim.example"),
        ("from_email", "Bean\r\nBcc: everyone@victim.example <orders@beanandleaf.example>"),
        ("from_email", ""),
        ("name", "Bean & Leaf\nBcc: everyone@victim.example"),
        ("name", "Bean & Leaf\rX-Injected: yes"),
        ("name", "Bean\u2028Leaf"),
        ("reply_to", "care@beanandleaf.example\nBcc: everyone@victim.example"),
        ("support_email", "not an address"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_saved(staff_client, our_shop, field, value):
    response = staff_client.patch("/api/shop/", {"address": "Somewhere else", field: value}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert _stored() == SHOP


def test_with_debug_on_a_plain_http_address_is_allowed(staff_client, our_shop, settings):
    settings.DEBUG = True

    response = staff_client.patch("/api/shop/", {"storefront_url": "http://127.0.0.1:8000/"}, format="json")

    assert response.status_code == 200
    assert _stored()["storefront_url"] == "http://127.0.0.1:8000/"


# --- the admin ----------------------------------------------------------------------------------------------------


def test_the_admin_list_opens_the_one_shop_row(admin_browser, our_shop):
    response = admin_browser.get("/admin/recovery/shop/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/recovery/shop/1/change/"
    page = admin_browser.get(response["Location"]).content.decode()
    assert 'value="Bean &amp; Leaf"' in page
    assert 'name="_save"' in page


def test_the_admin_opens_the_shop_even_before_it_was_ever_read(admin_browser, settings):
    settings.CART_SHOP_NAME = "First read in the admin"

    response = admin_browser.get("/admin/recovery/shop/", follow=True)

    assert response.status_code == 200
    assert 'value="First read in the admin"' in response.content.decode()


def test_the_admin_has_no_add_and_no_delete_for_the_shop(admin_browser, our_shop):
    assert admin_browser.get("/admin/recovery/shop/add/").status_code == 403
    assert admin_browser.post("/admin/recovery/shop/1/delete/", {"post": "yes"}).status_code == 403
    page = admin_browser.get("/admin/recovery/shop/1/change/").content.decode()
    assert "/admin/recovery/shop/add/" not in page
    assert "/admin/recovery/shop/1/delete/" not in page
    assert Shop.objects.count() == 1


def test_staff_edit_the_shop_in_the_admin(admin_browser, our_shop):
    response = admin_browser.post(
        "/admin/recovery/shop/1/change/", {**SHOP, "name": "Bean and Leaf", "address": "1 New Street\r\nLyon"}
    )

    assert response.status_code == 302
    assert _stored() == {**SHOP, "name": "Bean and Leaf", "address": "1 New Street\r\nLyon"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("logo_url", "javascript:alert(1)"),
        ("storefront_url", "http://beanandleaf.example/"),
        ("from_email", "not an address"),
        ("name", "Bean & Leaf\nBcc: everyone@victim.example"),
    ],
)
def test_the_admin_refuses_the_same_bad_input_and_saves_nothing(admin_browser, our_shop, field, value):
    response = admin_browser.post("/admin/recovery/shop/1/change/", {**SHOP, "address": "Elsewhere", field: value})

    assert response.status_code == 200  # the form again, with the error
    assert field in response.context["adminform"].form.errors
    assert _stored() == SHOP


# --- every reminder is in the shop's name -------------------------------------------------------------------------


@pytest.mark.parametrize(("hours_ago", "step"), [(2, 1), (25, 2)])
def test_every_reminder_shows_the_shop_and_comes_from_its_sender(our_shop, shopper, hours_ago, step):
    beans = ItemFactory(name="Espresso beans", price=Decimal("6.75"))
    abandoned_at = timezone.now() - timedelta(hours=hours_ago)
    make_cart(user=shopper, lines=[(beans, 2)], status=Cart.Status.ABANDONED, abandoned_at=abandoned_at)

    send_due_recovery_emails(now=timezone.now())

    (message,) = mail.outbox
    assert RecoveryEmail.objects.get(status=RecoveryEmail.Status.SENT).step == step
    assert message.from_email == SHOP["from_email"]
    assert message.reply_to == [SHOP["reply_to"]]
    headers = message.message()
    assert headers["From"] == "Bean & Leaf <orders@beanandleaf.example>"
    assert headers["Reply-To"] == "care@beanandleaf.example"
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    assert '<img src="https://cdn.beanandleaf.example/logo.png"' in html
    assert "Bean &amp; Leaf" in html
    assert "12 Market Street" in html
    assert "Bean & Leaf" in message.body
    assert "Bean & Leaf Ltd\n12 Market Street\n75001 Paris" in message.body


def test_a_step_that_leaves_the_address_out_still_carries_it(our_shop, abandoned_cart, campaign):
    campaign.steps.filter(position=1).update(
        body_html="<p>Come back: {{ recovery_url }}</p>", body_text="Come back: {{ recovery_url }}"
    )

    send_due_recovery_emails(now=timezone.now())

    (message,) = mail.outbox
    assert "12 Market Street" in message.body
    assert "12 Market Street" in message.alternatives[0][0]
    assert message.from_email == SHOP["from_email"]


def test_without_a_reply_to_the_reminder_has_none(our_shop, abandoned_cart):
    shop_update(changes={"reply_to": ""})

    send_due_recovery_emails(now=timezone.now())

    (message,) = mail.outbox
    assert message.reply_to == []
    assert "Reply-To" not in message.message()


def test_a_change_in_the_admin_applies_to_the_next_reminder(admin_browser, our_shop, abandoned_cart):
    admin_browser.post("/admin/recovery/shop/1/change/", {**SHOP, "name": "Leaf & Bean"})

    send_due_recovery_emails(now=timezone.now())

    (message,) = mail.outbox
    assert "Leaf & Bean" in message.body
    assert "Leaf &amp; Bean" in message.alternatives[0][0]


# --- the shopper's pages -------------------------------------------------------------------------------------------

LOGO = '<img src="https://cdn.beanandleaf.example/logo.png"'


def _shows_the_shop(page: str) -> None:
    assert "Bean &amp; Leaf" in page
    assert LOGO in page
    assert "12 Market Street" in page


def test_the_recovery_page_shows_the_shop(our_shop, abandoned_cart):
    response = Client().get(f"/cart/recover/{make_recovery_token(cart_id=abandoned_cart.pk, email_id=None)}")

    assert response.status_code == 200
    _shows_the_shop(response.content.decode())
    assert "<title>Your cart is waiting | Bean &amp; Leaf</title>" in response.content.decode()


def test_the_restored_cart_leads_to_the_storefront(our_shop, abandoned_cart, settings):
    settings.CART_RECOVERY_REDIRECT_URL = ""
    email = RecoveryEmailFactory(cart=abandoned_cart, status=RecoveryEmail.Status.SENT)

    response = Client().post(f"/cart/recover/{make_recovery_token(cart_id=abandoned_cart.pk, email_id=email.pk)}")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="to-the-shop" href="https://beanandleaf.example/"' in page
    assert "Go to Bean &amp; Leaf to finish your order" in page
    _shows_the_shop(page)


def test_the_storefront_link_follows_the_shop_as_staff_change_it(our_shop, abandoned_cart, settings):
    settings.CART_RECOVERY_REDIRECT_URL = ""
    shop_update(changes={"storefront_url": "https://new.beanandleaf.example/shop"})

    response = Client().post(f"/cart/recover/{make_recovery_token(cart_id=abandoned_cart.pk, email_id=None)}")

    assert 'id="to-the-shop" href="https://new.beanandleaf.example/shop"' in response.content.decode()


def _expired_token(cart_id: int, settings, monkeypatch) -> str:
    settings.CART_RECOVERY_LINK_MAX_AGE_SECONDS = 3600
    monkeypatch.setattr("time.time", lambda: 1_700_000_000)
    token = make_recovery_token(cart_id=cart_id, email_id=None)
    monkeypatch.setattr("time.time", lambda: 1_700_000_000 + 3601)
    return token


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("tampered", 400, "This link is not valid"),
        ("expired", 410, "This link has expired"),
        ("deleted cart", 404, "This cart no longer exists"),
        ("checked out", 409, "You already ordered this cart"),
    ],
)
def test_the_link_error_pages_show_the_shop(our_shop, abandoned_cart, settings, monkeypatch, case, status, message):
    token = make_recovery_token(cart_id=abandoned_cart.pk, email_id=None)
    if case == "tampered":
        token = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    elif case == "expired":
        token = _expired_token(abandoned_cart.pk, settings, monkeypatch)
    elif case == "deleted cart":
        abandoned_cart.delete()
    else:
        Cart.objects.filter(pk=abandoned_cart.pk).update(status=Cart.Status.CHECKED_OUT, checked_out_at=timezone.now())

    response = Client().get(f"/cart/recover/{token}")

    assert response.status_code == status
    page = response.content.decode()
    assert message in page
    _shows_the_shop(page)


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_unsubscribe_pages_show_the_shop(our_shop, shopper, method):
    response = getattr(Client(), method)(f"/cart/unsubscribe/{make_unsubscribe_token(user_id=shopper.pk)}")

    assert response.status_code == 200
    _shows_the_shop(response.content.decode())
    bad = getattr(Client(), method)("/cart/unsubscribe/not-a-token")
    assert bad.status_code == 400
    _shows_the_shop(bad.content.decode())


def test_the_shoppers_pages_may_load_the_logo_from_its_host_and_nothing_else_from_elsewhere(our_shop, abandoned_cart):
    token = make_recovery_token(cart_id=abandoned_cart.pk, email_id=None)

    policy = Client().get(f"/cart/recover/{token}")["Content-Security-Policy"].split("; ")
    unsubscribe = Client().get(f"/cart/unsubscribe/{make_unsubscribe_token(user_id=abandoned_cart.user_id)}")

    assert "img-src 'self' data: https://cdn.beanandleaf.example" in policy
    assert "style-src 'self'" in policy
    assert "img-src 'self' data: https://cdn.beanandleaf.example" in unsubscribe["Content-Security-Policy"]
