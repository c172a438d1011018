"""Staff run a campaign in a real browser: edit a step's wording and give it a coupon in the admin, preview it with
a real cart, send themselves a test, and read the reminder as it was sent; the shopper opens the reminder's link and
gets the cart back with the step's code. Every page runs under the Content-Security-Policy without a violation.

Screenshots go to var/e2e/; with CART_UPDATE_SCREENSHOTS=1 the test also refreshes the ones README shows.
"""

import os
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail

from carts.models import Cart, Coupon
from recovery.models import RecoveryEmail, Shop
from recovery.sending import send_due_recovery_emails
from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory
from tests.e2e.test_report_browser import csp_violations, log_in, watch_csp
from tests.helpers import Clock
from tests.recovery.factories import make_campaign
from tests.users.factories import StaffFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HOUR, DAY = 3600, 86_400
RUN_DIR = Path(settings.BASE_DIR) / "var" / "e2e"
DOCS_DIR = Path(settings.BASE_DIR) / "docs" / "screenshots"
NEW_SUBJECT = "{{ shopper_name|default:'Hello' }}, your cart at {{ shop.name }} is waiting"


def screenshot(page, name: str) -> None:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    path = RUN_DIR / name
    page.wait_for_timeout(500)  # an email's sandboxed frame paints in a process of its own, a moment after the page
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("CART_UPDATE_SCREENSHOTS") == "1":
        DOCS_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_DIR / name)


@pytest.fixture
def shop_world(live_server):
    """The shop's identity (its logo on another origin than the pages: 127.0.0.1 beside localhost), a two-step
    campaign, and a shopper's cart abandoned now (step 1 is due in an hour)."""
    Shop.objects.update_or_create(
        pk=1,
        defaults={
            "name": "Tea & Kettle",
            "storefront_url": "https://tea.example/",
            "logo_url": live_server.url.replace("localhost", "127.0.0.1") + "/static/demo/logo.svg",
            "address": "1 Leaf Lane",
        },
    )
    campaign = make_campaign(delays=(HOUR, 2 * DAY))
    clock = Clock(campaign.activated_at.replace(microsecond=0))
    shopper = UserFactory(email="grace@example.com", name="Grace")
    cart = make_cart(
        user=shopper,
        lines=[
            (ItemFactory(name="Oolong 250 g", price=Decimal("18.50")), 2),
            (ItemFactory(name="Cast-iron kettle"), 1),
        ],
        status=Cart.Status.ABANDONED,
        abandoned_at=clock.now(),
    )
    return {"campaign": campaign, "cart": cart, "clock": clock}


def test_staff_edit_a_campaign_preview_it_and_send_a_test_in_a_browser(live_server, shop_world, browser_page):
    staff = StaffFactory(email="staff@example.com", name="Demo Staff")
    campaign, cart = shop_world["campaign"], shop_world["cart"]
    page = browser_page
    console = watch_csp(page)
    log_in(page, live_server, staff)

    page.goto(f"{live_server.url}/admin/recovery/campaign/{campaign.pk}/change/")
    page.fill("#id_steps-0-subject", NEW_SUBJECT)
    page.select_option("#id_steps-0-offer_kind", "percent")
    page.fill("#id_steps-0-offer_value", "10")
    page.fill("#id_steps-0-offer_valid_days", "7")
    page.fill("#id_holdout_percent", "10")
    screenshot(page, "campaign-editor.png")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    page.click("#campaign-preview-link")
    page.select_option("#id_step", "1")
    page.fill("#id_cart", str(cart.pk))
    page.click("#preview-choices input[type=submit]")
    page.wait_for_selector("#preview-html")
    subject = page.inner_text("#preview-subject")
    frame = page.frame_locator("#preview-html")
    html_text = frame.locator("body").inner_text()
    text_part = page.inner_text("#preview-text")
    screenshot(page, "campaign-preview.png")
    page.click("#test-send input[type=submit]")
    page.wait_for_selector(".messagelist")

    assert subject == "Hello, your cart at Tea & Kettle is waiting"  # Grace registered herself: no name vouched
    assert "Oolong 250 g" in html_text
    assert "Cast-iron kettle" in html_text
    assert "10 % off" in text_part
    assert [message.subject for message in mail.outbox] == [f"[Test] {subject}"]
    assert mail.outbox[0].to == [staff.email]
    assert RecoveryEmail.objects.count() == 0  # a test is not a reminder
    assert csp_violations(page, console) == []

    # When step 1 is due, the shopper's reminder is the edited step, in the shop's name.
    mail.outbox.clear()
    shop_world["clock"].advance(seconds=HOUR + 60)
    assert send_due_recovery_emails(now=shop_world["clock"].now()).sent == 1
    (reminder,) = mail.outbox
    html_part = reminder.alternatives[0][0]
    assert reminder.to == ["grace@example.com"]
    assert reminder.subject == subject
    assert Coupon.objects.get(cart=cart).code in reminder.body
    assert "Tea & Kettle\n1 Leaf Lane" in reminder.body
    assert Shop.objects.get().logo_url in html_part


def test_staff_read_a_sent_reminder_and_the_shopper_gets_the_cart_back_with_its_code(
    live_server, shop_world, browser_page
):
    staff = StaffFactory(email="staff@example.com", name="Demo Staff")
    campaign, cart, clock = shop_world["campaign"], shop_world["cart"], shop_world["clock"]
    campaign.steps.filter(position=1).update(
        offer_kind="amount", offer_value="5.00", offer_min_total="20.00", offer_valid_days=7
    )
    clock.advance(seconds=HOUR + 60)
    assert send_due_recovery_emails(now=clock.now()).sent == 1
    reminder = RecoveryEmail.objects.get(cart=cart)
    code = Coupon.objects.get(cart=cart).code
    (link,) = re.findall(r"https?://\S+/cart/recover/\S+", mail.outbox[0].body)
    link = re.sub(r"^https?://[^/]+", live_server.url, link)  # the link's host is the configured site's
    page = browser_page
    console = watch_csp(page)
    log_in(page, live_server, staff)

    page.goto(f"{live_server.url}/admin/recovery/recoveryemail/{reminder.pk}/change/")
    page.wait_for_selector("iframe.email-html")
    sent_html = page.frame_locator("iframe.email-html").locator("body").inner_text()
    screenshot(page, "reminder-as-sent.png")
    page.context.clear_cookies()  # the shopper's browser: no staff session
    page.goto(link)
    page.wait_for_selector("#to-the-shop")  # restore.js posted the restore, the page says it is back
    coupon_line = page.inner_text("#recover-coupon")
    screenshot(page, "recovery-page.png")

    assert code in sent_html
    assert "Oolong 250 g" in sent_html
    assert code in coupon_line
    assert page.get_attribute("#to-the-shop", "href") == "https://tea.example/"
    assert page.eval_on_selector("header.shop img", "image => image.naturalWidth") > 0  # the logo, from its origin
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ACTIVE  # the page restored it with its own POST
    assert cart.recovery_source == Cart.RecoverySource.EMAIL_LINK
    assert csp_violations(page, console) == []
