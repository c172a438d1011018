"""The campaigns' API (issue 12, point 7): /api/campaigns/ with nested steps, a step's preview, and
/api/carts/{id}/send-reminder/. Staff only; bad input is a 400 naming the field, with nothing saved."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from carts.models import Cart
from recovery.defaults import default_step
from recovery.models import Campaign, CampaignStep, RecoveryEmail
from recovery.sending import send_due_recovery_emails
from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory
from tests.helpers import client_for
from tests.recovery.factories import RecoveryEmailFactory, make_campaign

pytestmark = pytest.mark.django_db

HOUR, DAY = 3600, 86_400


def step(position: int, delay_seconds: int, **changes) -> dict:
    """A step as the API takes it: the default texts, with ``changes``."""
    return {**default_step(position=position, delay_seconds=delay_seconds), **changes}


def new_campaign(**changes) -> dict:
    return {
        "name": "Winter reminders",
        "is_active": False,
        "steps": [step(1, 2 * HOUR, subject="Still thinking it over?"), step(2, 2 * DAY)],
        **changes,
    }


def snapshot() -> list:
    """Every campaign and step as stored, to show that a refused request saved nothing."""
    return [
        list(Campaign.objects.order_by("pk").values_list("pk", "name", "is_active", "updated_at")),
        list(CampaignStep.objects.order_by("pk").values()),
    ]


@pytest.fixture
def beans():
    return ItemFactory(name="Espresso beans", price=Decimal("6.75"))


@pytest.fixture
def abandoned_cart(shopper, beans):
    abandoned_at = timezone.now() - timedelta(minutes=5)  # no step due yet: staff send one by hand
    return make_cart(
        user=shopper, lines=[(beans, 2)], status=Cart.Status.ABANDONED, abandoned_at=abandoned_at,
        last_updated=abandoned_at,
    )  # fmt: skip


# --- reading and writing campaigns --------------------------------------------------------------------------------


def test_staff_list_campaigns_with_their_steps_nested(staff_client, campaign):
    response = staff_client.get("/api/campaigns/")

    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["id"] == campaign.pk
    assert row["name"] == "Cart reminders"
    assert row["is_active"] is True
    assert [(s["position"], s["delay_seconds"], s["is_active"]) for s in row["steps"]] == [
        (1, HOUR, True),
        (2, DAY, True),
    ]
    assert set(row["steps"][0]) == {
        "position", "delay_seconds", "subject", "preheader", "body_html", "body_text", "is_active", "offer",
    }  # fmt: skip
    assert row["steps"][0]["offer"] is None
    assert row["holdout_percent"] == 0
    assert row["steps"][0]["subject"] == "You left something in your cart"


def test_staff_create_a_campaign_with_its_steps(staff_client, campaign):
    response = staff_client.post("/api/campaigns/", new_campaign(), format="json")

    assert response.status_code == 201
    body = response.json()
    created = Campaign.objects.get(pk=body["id"])
    assert created.name == "Winter reminders"
    assert created.is_active is False
    assert list(created.steps.values_list("position", "delay_seconds", "subject")) == [
        (1, 2 * HOUR, "Still thinking it over?"),
        (2, 2 * DAY, "Your cart is still waiting for you"),
    ]
    assert [s["subject"] for s in body["steps"]] == ["Still thinking it over?", "Your cart is still waiting for you"]
    assert staff_client.get(f"/api/campaigns/{created.pk}/").json() == body


def test_staff_replace_a_campaign_and_its_steps_with_put(staff_client, campaign):
    response = staff_client.put(
        f"/api/campaigns/{campaign.pk}/",
        {
            "name": "Cart reminders, 2026",
            "is_active": True,
            "steps": [step(1, 30 * 60, subject="Forgot something?"), step(2, DAY), step(3, 3 * DAY)],
        },
        format="json",
    )

    assert response.status_code == 200
    campaign.refresh_from_db()
    assert campaign.name == "Cart reminders, 2026"
    assert campaign.is_active is True
    assert list(campaign.steps.values_list("position", "delay_seconds", "subject")) == [
        (1, 30 * 60, "Forgot something?"),
        (2, DAY, "Your cart is still waiting for you"),
        (3, 3 * DAY, "Your cart is still waiting for you"),
    ]
    assert [s["position"] for s in response.json()["steps"]] == [1, 2, 3]


def test_a_patch_without_steps_keeps_them(staff_client, campaign):
    before = list(campaign.steps.values_list("pk", "subject"))

    response = staff_client.patch(f"/api/campaigns/{campaign.pk}/", {"name": "Renamed"}, format="json")

    assert response.status_code == 200
    campaign.refresh_from_db()
    assert campaign.name == "Renamed"
    assert campaign.is_active is True
    assert list(campaign.steps.values_list("pk", "subject")) == before


def test_a_patch_with_steps_makes_the_steps_exactly_those(staff_client, campaign):
    response = staff_client.patch(
        f"/api/campaigns/{campaign.pk}/", {"steps": [step(1, HOUR, subject="Only one now")]}, format="json"
    )

    assert response.status_code == 200
    assert list(campaign.steps.values_list("position", "subject")) == [(1, "Only one now")]
    assert [s["subject"] for s in response.json()["steps"]] == ["Only one now"]


def test_the_steps_of_a_patch_are_checked_in_full_and_get_their_defaults(staff_client, campaign):
    """The steps sent replace the campaign's: a PATCH's steps are whole steps, as in a POST or a PUT."""
    CampaignStep.objects.filter(campaign=campaign, position=2).update(is_active=False, preheader="Old")
    given = {k: v for k, v in step(2, DAY).items() if k not in ("preheader", "is_active")}

    response = staff_client.patch(f"/api/campaigns/{campaign.pk}/", {"steps": [step(1, HOUR), given]}, format="json")

    assert response.status_code == 200
    assert campaign.steps.filter(position=2).values_list("preheader", "is_active").get() == ("", True)


def test_a_step_of_a_patch_missing_a_required_field_is_a_400_naming_it(staff_client, campaign):
    before = snapshot()

    response = staff_client.patch(
        f"/api/campaigns/{campaign.pk}/", {"steps": [step(1, HOUR), {"position": 2, "subject": "Hi"}]}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["steps"]["1"]) == {"delay_seconds", "body_html", "body_text"}
    assert snapshot() == before


def test_a_step_switched_off_may_hand_its_delay_to_another(staff_client, campaign):
    response = staff_client.put(
        f"/api/campaigns/{campaign.pk}/",
        {"name": "Cart reminders", "is_active": True, "steps": [step(1, DAY), step(2, DAY, is_active=False)]},
        format="json",
    )

    assert response.status_code == 200
    assert list(campaign.steps.values_list("position", "delay_seconds", "is_active")) == [
        (1, DAY, True),
        (2, DAY, False),
    ]


def test_removing_a_step_that_has_reminders_is_a_409_and_changes_nothing(staff_client, campaign, item):
    cart = make_cart(lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=timezone.now())
    RecoveryEmailFactory(cart=cart, step=2, status=RecoveryEmail.Status.SENT)
    before = snapshot()

    response = staff_client.patch(f"/api/campaigns/{campaign.pk}/", {"steps": [step(1, HOUR)]}, format="json")

    assert response.status_code == 409
    assert "Step 2 has reminders" in response.json()["steps"][0]
    assert snapshot() == before


def test_deleting_a_campaign_without_reminders_is_a_204(staff_client, campaign):
    spare = make_campaign(name="Spare", is_active=False)

    response = staff_client.delete(f"/api/campaigns/{spare.pk}/")

    assert response.status_code == 204
    assert not Campaign.objects.filter(pk=spare.pk).exists()
    assert not CampaignStep.objects.filter(campaign_id=spare.pk).exists()
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_deleting_a_campaign_with_reminders_is_a_409_and_deletes_nothing(staff_client, campaign, item):
    cart = make_cart(lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=timezone.now())
    email = RecoveryEmailFactory(cart=cart, step=1, status=RecoveryEmail.Status.SENT)
    before = snapshot()

    response = staff_client.delete(f"/api/campaigns/{campaign.pk}/")

    assert response.status_code == 409
    assert "has reminders" in response.json()["detail"]
    assert snapshot() == before
    email.refresh_from_db()
    assert email.campaign_step.campaign_id == campaign.pk


def test_an_unknown_campaign_is_a_404(staff_client):
    assert staff_client.get("/api/campaigns/999999/").status_code == 404
    assert staff_client.patch("/api/campaigns/999999/", {"name": "x"}, format="json").status_code == 404
    assert staff_client.delete("/api/campaigns/999999/").status_code == 404


def test_listing_campaigns_costs_the_same_queries_however_many_there_are(staff_client, campaign):
    def queries() -> tuple[int, int]:
        """(queries run, campaigns listed)"""
        with CaptureQueriesContext(connection) as captured:
            response = staff_client.get("/api/campaigns/")
        assert response.status_code == 200
        return len(captured), len(response.json()["results"])

    one = queries()
    for n in range(6):
        make_campaign(name=f"Spare {n}", delays=(HOUR, DAY, 2 * DAY), is_active=False)
    seven = queries()

    assert one[1] == 1
    assert seven[1] == 7
    assert seven[0] == one[0]
    assert seven[0] <= 4  # the token with its user, the count, the campaigns, their steps


# --- who may -------------------------------------------------------------------------------------------------------

STAFF_ONLY = [
    ("get", "/api/campaigns/"),
    ("post", "/api/campaigns/"),
    ("get", "/api/campaigns/{campaign}/"),
    ("put", "/api/campaigns/{campaign}/"),
    ("patch", "/api/campaigns/{campaign}/"),
    ("delete", "/api/campaigns/{campaign}/"),
    ("get", "/api/campaigns/{campaign}/preview/"),
    ("post", "/api/carts/{cart}/send-reminder/"),
]


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("shopper", 403)])
@pytest.mark.parametrize(("method", "path"), STAFF_ONLY)
def test_only_staff_use_the_campaigns_api(who, expected, method, path, shopper, campaign, abandoned_cart):
    client = client_for(shopper if who == "shopper" else None)
    before = snapshot()

    response = getattr(client, method)(
        path.format(campaign=campaign.pk, cart=abandoned_cart.pk), new_campaign(name="Mine"), format="json"
    )

    assert response.status_code == expected
    assert snapshot() == before
    assert not RecoveryEmail.objects.exists()
    assert mail.outbox == []


# --- bad input -----------------------------------------------------------------------------------------------------


REFUSED_TEMPLATES = [
    ("body_html", "{% load static %}<p>Hi</p>", "Tag 'load' is not allowed"),
    ("body_html", "{% include 'admin/base.html' %}", "Tag 'include' is not allowed"),
    ("body_text", "{% debug %}", "Tag 'debug' is not allowed"),
    ("body_text", "Key: {{ settings.SECRET_KEY }}", "Unknown placeholder 'settings.SECRET_KEY'"),
    ("body_html", "<p>Hello {{ customer_first_name }}</p>", "Unknown placeholder 'customer_first_name'"),
    ("subject", "Hello {{ shopper_name.delete }}", "Unknown placeholder 'shopper_name.delete'"),
    ("preheader", "{% if total %}unclosed", "unclosed tag 'if'"),
    ("subject", "Your cart\nBcc: everyone@victim.example", "Must be one line"),
    ("subject", "Your cart\r\nBcc: everyone@victim.example", "Must be one line"),
    ("body_html", "é" * 50_001, "Too long: 100002 bytes, at most 100000 (100 KB)"),
]
LABELS = {"subject": "subject", "preheader": "preheader", "body_html": "HTML body", "body_text": "text body"}


@pytest.mark.parametrize(("field", "source", "problem"), REFUSED_TEMPLATES)
def test_a_template_that_is_not_allowed_is_refused_naming_the_step_and_the_field(
    staff_client, campaign, field, source, problem
):
    before = snapshot()
    body = new_campaign(steps=[step(1, 2 * HOUR), step(2, 2 * DAY, **{field: source})])

    created = staff_client.post("/api/campaigns/", body, format="json")
    changed = staff_client.put(f"/api/campaigns/{campaign.pk}/", {**body, "name": "Cart reminders"}, format="json")

    for response in (created, changed):
        assert response.status_code == 400
        errors = response.json()
        assert list(errors) == ["steps"]
        assert list(errors["steps"]) == ["1"]  # DRF's errors of a list: by index, the failing items only
        assert list(errors["steps"]["1"]) == [field]
        (message,) = errors["steps"]["1"][field]
        assert message.startswith(f"Step 2, {LABELS[field]}: ")
        assert problem in message
    assert snapshot() == before


@pytest.mark.parametrize("field", ["body_html", "body_text"])
def test_a_body_over_100_kb_is_refused_naming_the_field(staff_client, campaign, field):
    before = snapshot()

    response = staff_client.patch(
        f"/api/campaigns/{campaign.pk}/", {"steps": [step(1, HOUR, **{field: "x" * 100_001})]}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["steps"]["0"]) == [field]
    assert snapshot() == before


def test_a_body_of_exactly_100_kb_is_accepted(staff_client, campaign):
    body = "{{ recovery_url }} {{ unsubscribe_url }} {{ shop.address }}"
    body += "x" * (100_000 - len(body))

    response = staff_client.patch(
        f"/api/campaigns/{campaign.pk}/", {"steps": [step(1, HOUR, body_text=body)]}, format="json"
    )

    assert response.status_code == 200
    assert len(campaign.steps.get().body_text) == 100_000


@pytest.mark.parametrize("delay", [0, -1, 90 * DAY + 1, 10**12, "soon", 1.5, True])
def test_a_delay_outside_one_second_to_90_days_is_refused(staff_client, campaign, delay):
    before = snapshot()

    response = staff_client.patch(
        f"/api/campaigns/{campaign.pk}/", {"steps": [step(1, HOUR), step(2, delay)]}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"steps": {"1": {"delay_seconds": response.json()["steps"]["1"]["delay_seconds"]}}}
    assert snapshot() == before


@pytest.mark.parametrize("delay", [1, 90 * DAY])
def test_the_delay_may_be_one_second_or_90_days(staff_client, campaign, delay):
    response = staff_client.patch(f"/api/campaigns/{campaign.pk}/", {"steps": [step(1, delay)]}, format="json")

    assert response.status_code == 200
    assert campaign.steps.get().delay_seconds == delay


def test_two_active_steps_with_the_same_delay_are_refused(staff_client, campaign):
    before = snapshot()

    response = staff_client.patch(
        f"/api/campaigns/{campaign.pk}/", {"steps": [step(1, DAY), step(2, DAY)]}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"steps": ["Two active steps have the same delay (86400 s): give each its own."]}
    assert snapshot() == before


def test_an_inactive_step_may_share_a_delay_with_an_active_one(staff_client, campaign):
    response = staff_client.patch(
        f"/api/campaigns/{campaign.pk}/", {"steps": [step(1, DAY), step(2, DAY, is_active=False)]}, format="json"
    )

    assert response.status_code == 200
    assert list(campaign.steps.values_list("delay_seconds", "is_active")) == [(DAY, True), (DAY, False)]


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        ([step(1, DAY), step(2, HOUR)], "Step 2 (3600 s) would go out before step 1 (86400 s)"),
        ([step(1, HOUR), step(1, DAY)], "Two steps have position 1."),
    ],
)
def test_a_schedule_out_of_order_is_refused(staff_client, campaign, steps, problem):
    before = snapshot()

    response = staff_client.patch(f"/api/campaigns/{campaign.pk}/", {"steps": steps}, format="json")

    assert response.status_code == 400
    (message,) = response.json()["steps"]
    assert problem in message
    assert snapshot() == before


def test_a_second_active_campaign_is_refused_naming_is_active(staff_client, campaign):
    before = snapshot()

    response = staff_client.post("/api/campaigns/", new_campaign(is_active=True), format="json")

    assert response.status_code == 400
    (message,) = response.json()["is_active"]
    assert f"Campaign {campaign.pk} (Cart reminders) is active" in message
    assert snapshot() == before


def test_switching_an_inactive_campaign_on_while_another_is_active_is_refused(staff_client, campaign):
    spare = make_campaign(name="Spare", is_active=False)
    before = snapshot()

    response = staff_client.patch(f"/api/campaigns/{spare.pk}/", {"is_active": True}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["is_active"]
    assert snapshot() == before


@pytest.mark.parametrize("value", [0, 1, "true", "yes", None])
def test_is_active_must_be_a_json_boolean(staff_client, campaign, value):
    before = snapshot()

    on_campaign = staff_client.patch(f"/api/campaigns/{campaign.pk}/", {"is_active": value}, format="json")
    on_step = staff_client.patch(
        f"/api/campaigns/{campaign.pk}/", {"steps": [step(1, HOUR, is_active=value)]}, format="json"
    )

    assert on_campaign.status_code == 400
    assert list(on_campaign.json()) == ["is_active"]
    assert on_step.status_code == 400
    assert list(on_step.json()["steps"]["0"]) == ["is_active"]
    assert snapshot() == before


@pytest.mark.parametrize(
    "name",
    ["Winter\nBcc: everyone@victim.example", "Winter\rX-Injected: yes", "Winter\u2028reminders", "", "x" * 101, 7],
)
def test_a_bad_campaign_name_is_refused_naming_it(staff_client, campaign, name):
    before = snapshot()

    response = staff_client.post("/api/campaigns/", new_campaign(name=name), format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    assert snapshot() == before


def test_a_second_campaign_with_the_same_name_is_refused(staff_client, campaign):
    response = staff_client.post("/api/campaigns/", new_campaign(name="cart REMINDERS"), format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    assert Campaign.objects.count() == 1


def test_steps_that_are_not_a_list_of_objects_are_a_400(staff_client, campaign):
    for steps in ("one", [1, 2], [{"position": 1}]):
        response = staff_client.patch(f"/api/campaigns/{campaign.pk}/", {"steps": steps}, format="json")
        assert response.status_code == 400
        assert "steps" in response.json()


# --- preview -------------------------------------------------------------------------------------------------------


def test_a_step_is_previewed_with_a_sample_cart(staff_client, campaign):
    response = staff_client.get(f"/api/campaigns/{campaign.pk}/preview/", {"step": 2})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"subject", "html", "text"}
    assert body["subject"] == "Your cart is still waiting for you"
    assert "Merino wool scarf" in body["html"]
    assert "Merino wool scarf" in body["text"]
    assert "/cart/recover/preview-link" in body["text"]


def test_the_preview_shows_step_1_when_no_step_is_named(staff_client, campaign):
    response = staff_client.get(f"/api/campaigns/{campaign.pk}/preview/")

    assert response.status_code == 200
    assert response.json()["subject"] == "You left something in your cart"


def test_a_step_is_previewed_with_a_real_cart_and_nothing_is_recorded_or_sent(staff_client, campaign, abandoned_cart):
    response = staff_client.get(f"/api/campaigns/{campaign.pk}/preview/", {"step": 1, "cart": abandoned_cart.pk})

    assert response.status_code == 200
    body = response.json()
    assert "Espresso beans" in body["html"]
    assert "Espresso beans" in body["text"]
    assert "USD 13.50" in body["text"]
    assert "Merino wool scarf" not in body["text"]
    assert not RecoveryEmail.objects.exists()
    assert mail.outbox == []
    abandoned_cart.refresh_from_db()
    assert abandoned_cart.status == Cart.Status.ABANDONED


def test_a_preview_shows_the_step_as_it_reads_now(staff_client, campaign):
    staff_client.patch(
        f"/api/campaigns/{campaign.pk}/", {"steps": [step(1, HOUR, subject="Fresh words, {{ shop.name }}")]},
        format="json",
    )  # fmt: skip

    response = staff_client.get(f"/api/campaigns/{campaign.pk}/preview/", {"step": 1})

    assert response.json()["subject"] == "Fresh words, Cart Recovery demo shop"


@pytest.mark.parametrize(("query", "field"), [({"step": 9}, "step"), ({"step": 1, "cart": 999_999}, "cart")])
def test_an_unknown_step_or_cart_is_a_404_naming_it(staff_client, campaign, query, field):
    response = staff_client.get(f"/api/campaigns/{campaign.pk}/preview/", query)

    assert response.status_code == 404
    assert list(response.json()) == [field]


@pytest.mark.parametrize(
    ("query", "field"), [({"step": "two"}, "step"), ({"cart": "x"}, "cart"), ({"step": 0}, "step")]
)
def test_a_malformed_preview_query_is_a_400_naming_it(staff_client, campaign, query, field):
    response = staff_client.get(f"/api/campaigns/{campaign.pk}/preview/", query)

    assert response.status_code == 400
    assert list(response.json()) == [field]


# --- send the next reminder now ------------------------------------------------------------------------------------


def send_now(client, cart):
    return client.post(f"/api/carts/{cart.pk}/send-reminder/")


def test_staff_send_a_cart_its_next_reminder_now(staff_client, staff, campaign, abandoned_cart, shopper):
    response = send_now(staff_client, abandoned_cart)

    assert response.status_code == 200
    body = response.json()
    email = RecoveryEmail.objects.get(cart=abandoned_cart)
    assert body["id"] == email.pk
    assert body["step"] == 1
    assert body["status"] == "sent"
    assert email.status == RecoveryEmail.Status.SENT
    assert email.requested_by == staff
    (message,) = mail.outbox
    assert message.to == [shopper.email]
    assert message.subject == "You left something in your cart"
    assert "Espresso beans" in message.body


def test_a_second_call_sends_the_next_step_and_the_scheduler_sends_neither_again(
    staff_client, campaign, abandoned_cart
):
    assert send_now(staff_client, abandoned_cart).json()["step"] == 1
    second = send_now(staff_client, abandoned_cart)

    assert second.status_code == 200
    assert second.json()["step"] == 2
    assert [m.subject for m in mail.outbox] == ["You left something in your cart", "Your cart is still waiting for you"]
    send_due_recovery_emails(now=timezone.now() + timedelta(days=2))
    assert len(mail.outbox) == 2
    assert dict(RecoveryEmail.objects.filter(cart=abandoned_cart).values_list("step", "status")) == {
        1: "sent",
        2: "sent",
    }


def test_a_reminder_sent_by_hand_is_not_sent_again_when_its_time_comes(staff_client, campaign, abandoned_cart):
    send_now(staff_client, abandoned_cart)

    send_due_recovery_emails(now=timezone.now() + timedelta(hours=2))  # step 1's time
    assert len(mail.outbox) == 1
    send_due_recovery_emails(now=timezone.now() + timedelta(days=1, hours=1))  # step 2's time
    assert len(mail.outbox) == 2


def _checked_out(cart, **_):
    Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.CHECKED_OUT, checked_out_at=timezone.now())


def _active(cart, **_):
    Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.ACTIVE, abandoned_at=None)


def _opted_out(cart, **_):
    type(cart.user).objects.filter(pk=cart.user_id).update(email_opt_out=True)


def _every_step_sent(cart, **_):
    for position in (1, 2):
        RecoveryEmailFactory(cart=cart, step=position, status=RecoveryEmail.Status.SENT)


def _no_active_campaign(cart, *, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(is_active=False)


@pytest.mark.parametrize(
    ("make_it_so", "why"),
    [
        (_checked_out, "is not abandoned (it is checked out)"),
        (_active, "is not abandoned (it is active)"),
        (_opted_out, "unsubscribed from reminders"),
        (_every_step_sent, "already had every step of the active campaign"),
        (_no_active_campaign, "No campaign is active"),
    ],
)
def test_a_cart_that_gets_nothing_is_a_409_saying_why(staff_client, campaign, abandoned_cart, make_it_so, why):
    make_it_so(abandoned_cart, campaign=campaign)
    before = list(RecoveryEmail.objects.values_list("pk", "status"))

    response = send_now(staff_client, abandoned_cart)

    assert response.status_code == 409
    assert why in response.json()["detail"]
    assert mail.outbox == []
    assert list(RecoveryEmail.objects.values_list("pk", "status")) == before


def test_an_unknown_cart_is_a_404(staff_client, campaign):
    response = staff_client.post("/api/carts/999999/send-reminder/")

    assert response.status_code == 404
    assert mail.outbox == []
