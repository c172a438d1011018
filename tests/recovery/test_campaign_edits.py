"""What happens to reminders already planned when staff edit a campaign (docs/contract.md, "Recovery emails")."""

from datetime import timedelta

import pytest
from django.core import mail

from carts.models import Cart
from recovery import campaigns
from recovery.models import Campaign, CampaignStep, RecoveryEmail
from recovery.sending import send_due_recovery_emails
from tests.carts.factories import make_cart
from tests.recovery.factories import make_campaign

pytestmark = pytest.mark.django_db

HOUR, DAY = 3600, 86_400


@pytest.fixture
def abandoned(clock, item):
    return make_cart(lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=clock.now())


def planned_step_1(cart, clock) -> RecoveryEmail:
    """Step 1 planned at its time but not sent yet (a run that planned, then a scheduler restart)."""
    step = CampaignStep.objects.get(campaign__is_active=True, position=1)
    return RecoveryEmail.objects.create(
        cart=cart, step=1, campaign_step=step, planned_at=clock.now(), next_attempt_at=clock.now() + timedelta(hours=1)
    )


def test_an_edited_subject_goes_out_on_reminders_planned_before_the_edit(campaign, abandoned, clock):
    email = planned_step_1(abandoned, clock)
    CampaignStep.objects.filter(campaign=campaign, position=1).update(subject="We kept your {{ shop.name }} cart")
    step = CampaignStep.objects.get(campaign=campaign, position=1)
    step.save()  # as the admin saves it (updated_at moves: the sender compiles the new version)

    send_due_recovery_emails(now=clock.now() + timedelta(hours=2))

    (message,) = mail.outbox
    assert message.subject == "We kept your Cart Recovery demo shop cart"
    email.refresh_from_db()
    assert (email.status, email.subject) == ("sent", "We kept your Cart Recovery demo shop cart")


def test_a_step_switched_off_cancels_its_unsent_reminders_and_sends_none_later(campaign, abandoned, clock):
    email = planned_step_1(abandoned, clock)
    step = CampaignStep.objects.get(campaign=campaign, position=1)
    step.is_active = False
    step.save()

    cancelled = campaigns.step_switched_off(step=step)
    send_due_recovery_emails(now=clock.now() + timedelta(hours=2))

    email.refresh_from_db()
    assert cancelled == 1
    assert (email.status, email.note) == ("cancelled", "Cancelled: step 1 was switched off before it went out.")
    assert mail.outbox == []
    send_due_recovery_emails(now=clock.now() + timedelta(days=1, hours=1))  # step 2 still goes out
    assert [m.subject for m in mail.outbox] == ["Your cart is still waiting for you"]


def test_a_step_switched_off_while_its_reminder_is_claimed_is_not_sent(campaign, abandoned, clock, monkeypatch):
    from recovery import sending

    real_claim = sending._claim_batch

    def claim_then_staff_switch_the_step_off(**kwargs):
        claimed = real_claim(**kwargs)
        CampaignStep.objects.filter(campaign=campaign, position=1).update(is_active=False)
        return claimed

    monkeypatch.setattr(sending, "_claim_batch", claim_then_staff_switch_the_step_off)

    result = send_due_recovery_emails(now=clock.now() + timedelta(hours=1))

    assert (result.sent, result.cancelled) == (0, 1)
    assert RecoveryEmail.objects.get(cart=abandoned).note == sending.STEP_GONE_NOTE
    assert mail.outbox == []


def test_switching_campaigns_cancels_the_old_ones_unsent_and_continues_each_cart_at_the_next_step(
    campaign, abandoned, clock
):
    send_due_recovery_emails(now=clock.now() + timedelta(hours=1))  # step 1 of the first campaign goes out
    other = make_campaign(name="Winter", delays=(2 * HOUR, 2 * DAY), is_active=False)
    CampaignStep.objects.filter(campaign=other, position=2).update(subject="Winter step 2")
    late = make_cart(lines=[(abandoned.lines.get().item, 1)], status=Cart.Status.ABANDONED, abandoned_at=clock.now())
    waiting = planned_step_1(late, clock)

    campaigns.campaign_activate(campaign=other)

    waiting.refresh_from_db()
    assert (waiting.status, waiting.note) == (
        "cancelled",
        "Cancelled: its campaign (Cart reminders) was switched off before it went out.",
    )
    assert list(Campaign.objects.filter(is_active=True)) == [other]
    # The cart that had step 1 gets the new campaign's step 2 at its time, never a second step 1.
    send_due_recovery_emails(now=clock.now() + timedelta(hours=3))
    assert len(mail.outbox) == 1
    send_due_recovery_emails(now=clock.now() + timedelta(days=2, hours=1))
    assert [m.subject for m in mail.outbox[1:]] == ["Winter step 2", "Winter step 2"]
    assert dict(RecoveryEmail.objects.filter(cart=abandoned).values_list("step", "status")) == {1: "sent", 2: "sent"}


def test_a_changed_delay_applies_to_reminders_not_planned_yet(campaign, abandoned, clock):
    CampaignStep.objects.filter(campaign=campaign, position=1).update(delay_seconds=2 * HOUR)

    assert send_due_recovery_emails(now=clock.now() + timedelta(hours=1)).sent == 0
    assert send_due_recovery_emails(now=clock.now() + timedelta(hours=2)).sent == 1


def test_no_active_campaign_sends_nothing(abandoned, clock):
    make_campaign(is_active=False)

    result = send_due_recovery_emails(now=clock.now() + timedelta(days=1))

    assert (result.planned, result.sent) == (0, 0)
    assert not RecoveryEmail.objects.exists()


def test_the_database_holds_one_active_campaign():
    from django.db import IntegrityError, transaction

    make_campaign(name="First")
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.create(name="Second", is_active=True)


def test_the_database_holds_one_active_step_per_delay(campaign):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        CampaignStep.objects.create(
            campaign=campaign, position=3, delay_seconds=HOUR, subject="x", body_html="x", body_text="x"
        )
