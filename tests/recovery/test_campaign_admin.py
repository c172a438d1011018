"""The admin as shop staff use it (issue 12, points 4, 5 and 6): editing a campaign's steps, making a campaign the
active one, previewing a step and sending a test to oneself, sending a cart's next reminder by hand, a cart's
reminders on its page, a reminder's page, and the pages' polish (no Save where nothing can be saved, no Add for the
scheduler, money with its currency, labels instead of codes, errors apart from notes)."""

import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from carts.models import Cart, Coupon
from carts.services import cart_checkout
from core.errors import InvalidInput
from recovery.campaigns import CAMPAIGN_OFF_NOTE
from recovery.links import UNSUBSCRIBED_NOTE
from recovery.models import Campaign, CampaignStep, RecoveryEmail
from recovery.previews import PREVIEW_COUPON_CODE
from recovery.shop import shop_update
from recovery.tokens import make_unsubscribe_token
from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory
from tests.recovery.factories import RecoveryEmailFactory, make_campaign

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("campaign")]

HOUR, DAY = 3600, 86_400
SENDER = "Bean & Leaf <orders@beanandleaf.example>"


@pytest.fixture(autouse=True)
def _shop(db):
    shop_update(changes={"name": "Bean & Leaf", "from_email": SENDER, "reply_to": "care@beanandleaf.example"})


@pytest.fixture
def beans():
    return ItemFactory(name="Espresso beans", price=Decimal("6.75"))


@pytest.fixture
def abandoned_cart(shopper, beans):
    abandoned_at = timezone.now() - timedelta(minutes=5)
    return make_cart(
        user=shopper, lines=[(beans, 2)], status=Cart.Status.ABANDONED, abandoned_at=abandoned_at,
        last_updated=abandoned_at,
    )  # fmt: skip


def page_text(response) -> str:
    """The page as a person reads it (entities decoded)."""
    return html.unescape(response.content.decode())


def cells(response, column: str) -> list[str]:
    """The texts of a column of the page's tables (a changelist's or an inline's), as a person reads them."""
    found = re.findall(rf'<td class="field-{column}">(.*?)</td>', response.content.decode(), flags=re.DOTALL)
    return [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in found]


def snapshot() -> list:
    return [
        list(Campaign.objects.order_by("pk").values_list("pk", "name", "is_active", "updated_at")),
        list(CampaignStep.objects.order_by("pk").values()),
    ]


def change_form(campaign: Campaign, step_changes: dict[int, dict] | None = None) -> dict:
    """The campaign's change form as the admin sends it back, with ``step_changes`` = {position: {field: value}}
    (a boolean False is an unticked box: left out)."""
    steps = list(campaign.steps.order_by("position"))
    data = {
        "name": campaign.name,
        "holdout_percent": str(campaign.holdout_percent),
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": str(len(steps)),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    if campaign.is_active:
        data["is_active"] = "on"
    for index, step in enumerate(steps):
        values = {
            "id": step.pk,
            "campaign": campaign.pk,
            "position": step.position,
            "delay_seconds": step.delay_seconds,
            "subject": step.subject,
            "preheader": step.preheader,
            "body_html": step.body_html,
            "body_text": step.body_text,
            "is_active": step.is_active,
            **(step_changes or {}).get(step.position, {}),
        }
        for field, value in values.items():
            if value is True:
                data[f"steps-{index}-{field}"] = "on"
            elif value is not False:
                data[f"steps-{index}-{field}"] = value
    return data


def change_url(campaign: Campaign) -> str:
    return f"/admin/recovery/campaign/{campaign.pk}/change/"


# --- editing a campaign ---------------------------------------------------------------------------------------------


def test_the_change_page_saves_valid_steps(admin_browser, campaign):
    data = change_form(
        campaign,
        {1: {"subject": "Forgot something at {{ shop.name }}?", "delay_seconds": 1800}, 2: {"is_active": False}},
    )

    response = admin_browser.post(change_url(campaign), data)

    assert response.status_code == 302
    assert list(campaign.steps.values_list("position", "delay_seconds", "subject", "is_active")) == [
        (1, 1800, "Forgot something at {{ shop.name }}?", True),
        (2, DAY, "Your cart is still waiting for you", False),
    ]
    follow = admin_browser.get(response["Location"])
    assert "was changed successfully" in page_text(follow)


def test_the_change_page_links_to_the_preview(admin_browser, campaign):
    page = admin_browser.get(change_url(campaign)).content.decode()

    assert f'href="/admin/recovery/campaign/{campaign.pk}/preview/" id="campaign-preview-link"' in page


@pytest.mark.parametrize(
    ("position", "field", "value", "message"),
    [
        (2, "body_html", "{% load static %}<p>Hi</p>", "Step 2, HTML body: Line 1: Tag 'load' is not allowed."),
        (1, "body_text", "Hi\n{% include 'admin/base.html' %}", "Step 1, text body: Line 2: Tag 'include' is not"),
        (1, "body_text", "{% debug %}", "Step 1, text body: Line 1: Tag 'debug' is not allowed."),
        (
            2,
            "subject",
            "{{ settings.SECRET_KEY }}",
            "Step 2, subject: Line 1: Unknown placeholder 'settings.SECRET_KEY'",
        ),
        (1, "preheader", "Hi {{ first_name }}", "Step 1, preheader: Line 1: Unknown placeholder 'first_name'"),
        (1, "subject", "Hi\nBcc: everyone@victim.example", "Step 1, subject: Must be one line"),
        (2, "body_html", "x" * 100_001, "Step 2, HTML body: Too long: 100001 bytes, at most 100000 (100 KB)."),
    ],
)
def test_an_invalid_template_is_refused_naming_the_step_the_field_and_the_problem(
    admin_browser, campaign, position, field, value, message
):
    before = snapshot()

    response = admin_browser.post(change_url(campaign), change_form(campaign, {position: {field: value}}))

    assert response.status_code == 200  # the form again
    (formset,) = [inline.formset for inline in response.context["inline_admin_formsets"]]
    (form,) = [form for form in formset.forms if form.instance.position == position]
    assert list(form.errors) == [field]
    assert message in form.errors[field][0]
    assert message in page_text(response)
    assert snapshot() == before


@pytest.mark.parametrize("delay", [0, 90 * DAY + 1])
def test_a_delay_outside_one_second_to_90_days_is_refused(admin_browser, campaign, delay):
    before = snapshot()

    response = admin_browser.post(change_url(campaign), change_form(campaign, {2: {"delay_seconds": delay}}))

    assert response.status_code == 200
    assert "delay_seconds" in response.context["inline_admin_formsets"][0].formset.forms[1].errors
    assert snapshot() == before


def test_two_active_steps_with_the_same_delay_are_refused(admin_browser, campaign):
    before = snapshot()

    response = admin_browser.post(change_url(campaign), change_form(campaign, {1: {"delay_seconds": DAY}}))

    assert response.status_code == 200
    assert "Two active steps have the same delay (86400 s): give each its own." in page_text(response)
    assert snapshot() == before


@pytest.mark.parametrize("step_2", [{"is_active": False}, {"DELETE": True}])
def test_a_step_switched_off_or_removed_may_hand_its_delay_to_another(admin_browser, campaign, step_2):
    response = admin_browser.post(change_url(campaign), change_form(campaign, {1: {"delay_seconds": DAY}, 2: step_2}))

    assert response.status_code == 302
    expected = [(1, DAY, True), (2, DAY, False)] if "is_active" in step_2 else [(1, DAY, True)]
    assert list(campaign.steps.values_list("position", "delay_seconds", "is_active")) == expected


def test_staff_reorder_steps_by_swapping_their_positions(admin_browser, campaign):
    first, second = campaign.steps.order_by("position")
    data = change_form(campaign, {1: {"position": 2, "delay_seconds": DAY}, 2: {"position": 1, "delay_seconds": HOUR}})

    response = admin_browser.post(change_url(campaign), data)

    assert response.status_code == 302
    assert list(campaign.steps.values_list("pk", "position", "delay_seconds")) == [
        (second.pk, 1, HOUR),
        (first.pk, 2, DAY),
    ]


def test_staff_remove_the_first_step_and_move_the_second_up(admin_browser, campaign):
    response = admin_browser.post(
        change_url(campaign), change_form(campaign, {1: {"DELETE": True}, 2: {"position": 1}})
    )

    assert response.status_code == 302
    assert list(campaign.steps.values_list("position", "delay_seconds", "is_active")) == [(1, DAY, True)]


def test_a_step_with_reminders_cannot_be_removed_switch_it_off_instead(admin_browser, campaign, abandoned_cart):
    RecoveryEmailFactory(cart=abandoned_cart, step=1, status=RecoveryEmail.Status.SENT)
    before = snapshot()

    response = admin_browser.post(change_url(campaign), change_form(campaign, {1: {"DELETE": True}}))

    assert response.status_code == 200
    assert "would require deleting the following protected related objects" in page_text(response)
    assert snapshot() == before


def test_a_second_active_campaign_is_refused(admin_browser, campaign):
    spare = make_campaign(name="Spare", is_active=False)
    before = snapshot()
    data = change_form(spare)
    data["is_active"] = "on"

    response = admin_browser.post(change_url(spare), data)

    assert response.status_code == 200
    assert "“Cart reminders” is the active campaign: switch it off first" in page_text(response)
    assert snapshot() == before


def test_a_new_campaign_cannot_be_added_active_beside_the_active_one(admin_browser, campaign):
    response = admin_browser.post(
        "/admin/recovery/campaign/add/",
        {
            "name": "Another",
            "is_active": "on",
            "steps-TOTAL_FORMS": "0",
            "steps-INITIAL_FORMS": "0",
            "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 200
    assert "is_active" in response.context["adminform"].form.errors
    assert list(Campaign.objects.values_list("name", flat=True)) == ["Cart reminders"]


def test_make_active_switches_the_other_off_and_cancels_its_unsent_reminders(admin_browser, campaign, item):
    carts = [make_cart(lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=timezone.now()) for _ in range(3)]
    pending = RecoveryEmailFactory(cart=carts[0], step=1, status=RecoveryEmail.Status.PENDING)
    retrying = RecoveryEmailFactory(cart=carts[1], step=1, status=RecoveryEmail.Status.FAILED, last_error="timeout")
    sent = RecoveryEmailFactory(cart=carts[2], step=1, status=RecoveryEmail.Status.SENT)
    winter = make_campaign(name="Winter", is_active=False)

    response = admin_browser.post(
        "/admin/recovery/campaign/", {"action": "make_active", "_selected_action": [winter.pk]}, follow=True
    )

    assert "“Winter” is now the active campaign." in page_text(response)
    campaign.refresh_from_db()
    winter.refresh_from_db()
    assert (campaign.is_active, winter.is_active) == (False, True)
    for email in (pending, retrying, sent):
        email.refresh_from_db()
    assert (pending.status, pending.note) == ("cancelled", CAMPAIGN_OFF_NOTE.format(name="Cart reminders"))
    assert (retrying.status, retrying.last_error) == ("cancelled", "timeout")
    assert retrying.note == CAMPAIGN_OFF_NOTE.format(name="Cart reminders")
    assert sent.status == "sent"


def test_make_active_wants_exactly_one_campaign(admin_browser, campaign):
    spare = make_campaign(name="Spare", is_active=False)

    response = admin_browser.post(
        "/admin/recovery/campaign/", {"action": "make_active", "_selected_action": [campaign.pk, spare.pk]}, follow=True
    )

    assert "Select exactly one campaign." in page_text(response)
    assert list(Campaign.objects.filter(is_active=True)) == [campaign]


# --- preview and "send a test to me" --------------------------------------------------------------------------------


def preview_url(campaign: Campaign, **query) -> str:
    url = f"/admin/recovery/campaign/{campaign.pk}/preview/"
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_the_preview_shows_html_and_text_side_by_side_with_a_sample_cart(admin_browser, campaign):
    response = admin_browser.get(preview_url(campaign, step=2))

    assert response.status_code == 200
    page = response.content.decode()
    assert '<strong id="preview-subject">Your cart is still waiting for you</strong>' in page
    # The HTML part in a sandboxed frame, escaped into its srcdoc: the admin's page holds none of the email's markup.
    assert '<iframe id="preview-html" sandbox srcdoc="&lt;!DOCTYPE html&gt;' in page
    assert "<!DOCTYPE html>\n<html" not in page.partition("<body")[2]
    assert '<pre id="preview-text">Hello' in page
    assert "Merino wool scarf" in page
    assert "A sample cart" in page
    assert "Bean &amp;amp; Leaf" in page  # the shop as it is now, escaped in the email, then into the srcdoc


def test_the_preview_of_a_step_with_an_offer_shows_the_offer_with_a_code_nobody_can_use(
    admin_browser, campaign, abandoned_cart, shopper, clock
):
    campaign.steps.filter(position=2).update(
        offer_kind="amount", offer_value=Decimal("5.00"), offer_min_total=None, offer_valid_days=7
    )

    text = page_text(admin_browser.get(preview_url(campaign, step=2)))

    assert "USD 5.00 off" in text
    assert PREVIEW_COUPON_CODE in text
    with pytest.raises(InvalidInput) as refused:
        cart_checkout(user=shopper, cart_id=abandoned_cart.pk, coupon=PREVIEW_COUPON_CODE, now=clock.now())
    assert refused.value.field == "coupon"
    assert Coupon.objects.count() == 0  # a preview issues nothing


def test_pages_that_show_an_email_allow_its_inline_styles_and_images_and_no_other_page_does(
    admin_browser, campaign, abandoned_cart
):
    reminder = RecoveryEmailFactory(cart=abandoned_cart, status="sent", body_html="<p style='color:red'>Hi</p>")

    preview = admin_browser.get(preview_url(campaign))["Content-Security-Policy"]
    sent = admin_browser.get(f"/admin/recovery/recoveryemail/{reminder.pk}/change/")["Content-Security-Policy"]
    campaign_page = admin_browser.get(change_url(campaign))["Content-Security-Policy"]

    for policy in (preview, sent):
        assert "style-src 'self' 'unsafe-inline'" in policy
        assert "img-src 'self' data: https:" in policy
        assert "script-src 'self'" in policy.split("; ")  # no page runs inline scripts (and the frame none at all)
    assert "'unsafe-inline'" not in campaign_page


def test_the_preview_shows_a_real_cart(admin_browser, campaign, abandoned_cart):
    response = admin_browser.get(preview_url(campaign, step=1, cart=abandoned_cart.pk))

    assert response.status_code == 200
    text = page_text(response)
    assert f"Cart #{abandoned_cart.pk}'s lines and total" in text
    assert "Espresso beans" in text
    assert "USD 13.50" in text
    assert "Merino wool scarf" not in text
    assert not RecoveryEmail.objects.exists()


def test_the_preview_escapes_what_the_cart_holds_twice_in_the_frame(admin_browser, campaign, shopper):
    odd = ItemFactory(name="<script>alert(1)</script>", price=Decimal("1.00"))
    cart = make_cart(user=shopper, lines=[(odd, 1)], status=Cart.Status.ABANDONED, abandoned_at=timezone.now())

    page = admin_browser.get(preview_url(campaign, cart=cart.pk)).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;" in page  # in the srcdoc
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # in the text part


def test_an_unknown_cart_in_the_preview_falls_back_to_the_sample_and_says_so(admin_browser, campaign):
    response = admin_browser.get(preview_url(campaign, cart=999_999))

    assert response.status_code == 200
    assert "There is no cart #999999: the sample cart is shown." in page_text(response)
    assert "Merino wool scarf" in page_text(response)


def test_send_a_test_to_me_mails_the_staff_member_and_records_nothing(admin_browser, campaign, staff, abandoned_cart):
    response = admin_browser.post(preview_url(campaign, step=2, cart=abandoned_cart.pk))

    assert response.status_code == 302
    assert response["Location"] == preview_url(campaign, step=2, cart=abandoned_cart.pk)
    (message,) = mail.outbox
    assert message.to == [staff.email]
    assert message.subject == "[Test] Your cart is still waiting for you"
    assert message.from_email == SENDER
    assert "Espresso beans" in message.body
    assert "Espresso beans" in message.alternatives[0][0]
    assert not RecoveryEmail.objects.exists()
    abandoned_cart.refresh_from_db()
    assert abandoned_cart.status == Cart.Status.ABANDONED
    assert f"A test of step 2 was sent to {staff.email}." in page_text(admin_browser.get(response["Location"]))


def test_the_preview_is_for_staff_only(campaign, shopper):
    browser = Client()
    browser.force_login(shopper)

    response = browser.get(preview_url(campaign))
    posted = browser.post(preview_url(campaign))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert posted.status_code == 302
    assert "/admin/login/" in posted["Location"]
    assert mail.outbox == []


# --- send the next reminder now, from the cart list ----------------------------------------------------------------


def test_send_next_reminder_now_sends_to_abandoned_carts_and_says_why_not_for_the_others(
    admin_browser, abandoned_cart, shopper, item, staff
):
    bought = make_cart(lines=[(item, 1)], status=Cart.Status.CHECKED_OUT, checked_out_at=timezone.now())

    response = admin_browser.post(
        "/admin/carts/cart/",
        {"action": "send_next_reminder_now", "_selected_action": [abandoned_cart.pk, bought.pk]},
        follow=True,
    )

    text = page_text(response)
    assert f"Cart #{abandoned_cart.pk}: step 1 sent to {shopper.email}." in text
    assert f"Nothing sent for cart #{bought.pk}: Cart #{bought.pk} is not abandoned (it is checked out)." in text
    (message,) = mail.outbox
    assert message.to == [shopper.email]
    assert message.from_email == SENDER
    email = RecoveryEmail.objects.get()
    assert (email.cart_id, email.step, email.status, email.requested_by) == (abandoned_cart.pk, 1, "sent", staff)
    assert not RecoveryEmail.objects.filter(cart=bought).exists()


def test_send_next_reminder_now_twice_sends_the_next_step_then_says_every_step_went(admin_browser, abandoned_cart):
    for _ in range(3):
        response = admin_browser.post(
            "/admin/carts/cart/", {"action": "send_next_reminder_now", "_selected_action": [abandoned_cart.pk]},
            follow=True,
        )  # fmt: skip

    assert [m.subject for m in mail.outbox] == ["You left something in your cart", "Your cart is still waiting for you"]
    assert f"Cart #{abandoned_cart.pk} already had every step of the active campaign." in page_text(response)


def test_send_next_reminder_now_respects_the_opt_out(admin_browser, abandoned_cart, shopper):
    type(shopper).objects.filter(pk=shopper.pk).update(email_opt_out=True)

    response = admin_browser.post(
        "/admin/carts/cart/", {"action": "send_next_reminder_now", "_selected_action": [abandoned_cart.pk]},
        follow=True,
    )  # fmt: skip

    assert f"The shopper of cart #{abandoned_cart.pk} unsubscribed from reminders." in page_text(response)
    assert mail.outbox == []
    assert not RecoveryEmail.objects.exists()


# --- a cart's page and a reminder's page ---------------------------------------------------------------------------


@pytest.fixture
def reminders(abandoned_cart):
    sent = RecoveryEmailFactory(
        cart=abandoned_cart, step=1, status=RecoveryEmail.Status.SENT, sent_at=timezone.now(), attempts=1,
        recipient=abandoned_cart.user.email, subject="You left something in your cart",
        body_text="Hello,\nyour Espresso beans are waiting.", body_html="<p>Your <b>Espresso beans</b></p>",
    )  # fmt: skip
    pending = RecoveryEmailFactory(cart=abandoned_cart, step=2, status=RecoveryEmail.Status.PENDING)
    return sent, pending


def test_a_carts_page_lists_its_reminders_and_offers_no_save_and_no_delete(admin_browser, abandoned_cart, reminders):
    sent, pending = reminders

    response = admin_browser.get(f"/admin/carts/cart/{abandoned_cart.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Reminders" in page
    assert f'href="/admin/recovery/recoveryemail/{sent.pk}/change/">#{sent.pk}</a>' in page
    assert f'href="/admin/recovery/recoveryemail/{pending.pk}/change/">#{pending.pk}</a>' in page
    assert cells(response, "step") == ["1", "2"]
    assert cells(response, "subject") == ["You left something in your cart", "-"]
    assert cells(response, "status") == ["Sent", "Pending"]
    assert 'name="_save"' not in page
    assert 'name="_continue"' not in page
    assert f"/admin/carts/cart/{abandoned_cart.pk}/delete/" not in page
    assert 'class="deletelink"' not in page


def test_a_cart_line_reads_like_a_receipt(admin_browser, abandoned_cart):
    page = page_text(admin_browser.get(f"/admin/carts/cart/{abandoned_cart.pk}/change/"))

    assert "2 × Espresso beans at USD 6.75" in page


def test_saving_a_cart_is_refused_cleanly(admin_browser, abandoned_cart):
    response = admin_browser.post(f"/admin/carts/cart/{abandoned_cart.pk}/change/", {"status": "active"})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    abandoned_cart.refresh_from_db()
    assert abandoned_cart.status == Cart.Status.ABANDONED


def test_a_reminders_page_shows_its_recipient_subject_and_rendered_parts(admin_browser, reminders):
    sent, _ = reminders

    response = admin_browser.get(f"/admin/recovery/recoveryemail/{sent.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert sent.recipient in page
    assert "You left something in your cart" in page
    assert '<pre class="email-text">Hello,\nyour Espresso beans are waiting.</pre>' in page
    assert 'sandbox srcdoc="&lt;p&gt;Your &lt;b&gt;Espresso beans&lt;/b&gt;&lt;/p&gt;"' in page
    assert "<b>Espresso beans</b>" not in page
    assert '<div class="readonly">Sent</div>' in page
    assert 'name="_save"' not in page


def test_a_reminder_not_sent_yet_says_it_is_rendered_when_it_goes_out(admin_browser, reminders):
    _, pending = reminders

    page = page_text(admin_browser.get(f"/admin/recovery/recoveryemail/{pending.pk}/change/"))

    assert "Not sent yet: it is rendered from its step when it goes out." in page
    assert '<div class="readonly">Pending</div>' in page


# --- polish --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["djangojob", "djangojobexecution"])
def test_the_schedulers_jobs_and_runs_have_no_add(admin_browser, model):
    listing = admin_browser.get(f"/admin/django_apscheduler/{model}/")

    assert listing.status_code == 200
    assert f"/admin/django_apscheduler/{model}/add/" not in listing.content.decode()
    assert admin_browser.get(f"/admin/django_apscheduler/{model}/add/").status_code == 403
    index = admin_browser.get("/admin/").content.decode()
    assert f"/admin/django_apscheduler/{model}/add/" not in index


def test_the_cart_list_shows_money_with_its_currency_and_status_labels(admin_browser, abandoned_cart, item):
    make_cart(lines=[(item, 1)], status=Cart.Status.CHECKED_OUT, checked_out_at=timezone.now())

    response = admin_browser.get("/admin/carts/cart/")

    assert cells(response, "money_total") == ["USD 10.00", "USD 13.50"]
    assert cells(response, "status") == ["Checked out", "Abandoned"]


def test_the_email_list_shows_status_labels(admin_browser, reminders):
    response = admin_browser.get("/admin/recovery/recoveryemail/")

    assert sorted(cells(response, "status")) == ["Pending", "Sent"]


def test_errors_and_notes_each_have_their_own_column(admin_browser, abandoned_cart, item):
    RecoveryEmailFactory(
        cart=abandoned_cart, step=1, status=RecoveryEmail.Status.FAILED, last_error="SMTPServerDisconnected: gone",
        planned_at=timezone.now() - timedelta(hours=1),
    )  # fmt: skip
    RecoveryEmailFactory(
        cart=abandoned_cart, step=2, status=RecoveryEmail.Status.CANCELLED, note="Skipped: a later step was due."
    )

    listing = admin_browser.get("/admin/recovery/recoveryemail/")
    on_the_cart = admin_browser.get(f"/admin/carts/cart/{abandoned_cart.pk}/change/")

    assert cells(listing, "error") == ["-", "SMTPServerDisconnected: gone"]  # newest first
    assert cells(listing, "short_note") == ["Skipped: a later step was due.", "-"]
    assert cells(on_the_cart, "error") == ["SMTPServerDisconnected: gone", ""]  # by step
    assert cells(on_the_cart, "short_note") == ["", "Skipped: a later step was due."]


def test_an_unsubscribe_puts_its_reason_in_the_note_not_in_the_last_error(abandoned_cart, shopper):
    waiting = RecoveryEmailFactory(cart=abandoned_cart, step=1, status=RecoveryEmail.Status.PENDING)

    Client().post(f"/cart/unsubscribe/{make_unsubscribe_token(user_id=shopper.pk)}")

    waiting.refresh_from_db()
    assert (waiting.status, waiting.note, waiting.last_error) == ("cancelled", UNSUBSCRIBED_NOTE, "")
