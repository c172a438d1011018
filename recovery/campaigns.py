"""Campaigns: the reminder schedule and wording staff edit (services that change them, the checks on their texts,
the compiled texts the sender uses).

What happens to reminders already planned when staff edit (docs/contract.md says the same):

- A reminder is rendered when it is sent, from the step it was planned for, as that step reads then: an edited
  subject or body applies to every reminder not sent yet.
- A step switched off: its reminders not sent yet are cancelled, noted. Switched on again, it applies to carts whose
  time for it comes afterwards; the cancelled ones stay cancelled.
- A changed delay applies to the reminders not planned yet (a reminder is planned when its time comes, so one
  already planned is due and goes out at the next run).
- Another campaign activated (or this one switched off): the reminders of the one switched off that were not sent
  are cancelled, noted. A cart's reminders continue under the active campaign at the next position: a cart that had
  step 1 gets the new campaign's step 2 when its time comes, never a second step 1.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.errors import Conflict

from .models import MAX_STEP_DELAY, Campaign, CampaignStep, RecoveryEmail
from .templating import StaffTemplate, TemplateProblem, compile_template

# The step's text fields, with the kind of template each is and how a message names it.
TEXT_FIELDS = {
    "subject": ("subject", "subject"),
    "preheader": ("preheader", "preheader"),
    "body_html": ("html", "HTML body"),
    "body_text": ("text", "text body"),
}
STEP_OFF_NOTE = "Cancelled: step {position} was switched off before it went out."
CAMPAIGN_OFF_NOTE = "Cancelled: its campaign ({name}) was switched off before it went out."
UNSENT = (RecoveryEmail.Status.PENDING, RecoveryEmail.Status.FAILED)


@dataclass(frozen=True)
class CompiledStep:
    subject: StaffTemplate
    preheader: StaffTemplate
    html: StaffTemplate
    text: StaffTemplate


def check_step_text(*, field: str, source: str, position: int | None) -> StaffTemplate:
    """Compile one text of a step, or raise Django's ValidationError with a message naming the step, the field and
    the problem (the admin's forms and the API show it as it is)."""
    kind, label = TEXT_FIELDS[field]
    try:
        return compile_template(source, kind=kind, field=field)
    except TemplateProblem as problem:
        step = f"Step {position}" if position else "This step"
        raise ValidationError(f"{step}, {label}: {problem.message}", code="invalid_template") from None


def check_delay(delay_seconds: int) -> None:
    if not 1 <= delay_seconds <= MAX_STEP_DELAY.total_seconds():
        raise ValidationError(
            f"Use a delay from 1 second to {MAX_STEP_DELAY.days} days ({int(MAX_STEP_DELAY.total_seconds())} s).",
            code="delay_range",
        )


def schedule_problems(steps: list[tuple[int, int, bool]]) -> list[str]:
    """What is wrong with a campaign's schedule, given its steps as (position, delay_seconds, is_active): positions
    are unique, and the active steps go out in the order of their positions, each later than the one before."""
    problems = []
    positions = [position for position, _, _ in steps]
    for position in sorted({p for p in positions if positions.count(p) > 1}):
        problems.append(f"Two steps have position {position}.")
    active = sorted((position, delay) for position, delay, is_active in steps if is_active)
    delays = [delay for _, delay in active]
    for delay in sorted({d for d in delays if delays.count(d) > 1}):
        problems.append(f"Two active steps have the same delay ({delay} s): give each its own.")
    for (before, delay_before), (after, delay_after) in itertools.pairwise(active):
        if delay_after < delay_before:
            problems.append(
                f"Step {after} ({delay_after} s) would go out before step {before} ({delay_before} s): a later step"
                " must wait longer."
            )
    return problems


@functools.lru_cache(maxsize=256)
def _compiled(step_id: int, updated_at: datetime, texts: tuple[str, str, str, str]) -> CompiledStep:
    subject, preheader, html, text = (
        compile_template(source, kind=TEXT_FIELDS[field][0], field=field)
        for field, source in zip(TEXT_FIELDS, texts, strict=True)
    )
    return CompiledStep(subject=subject, preheader=preheader, html=html, text=text)


def compiled_step(step: CampaignStep) -> CompiledStep:
    """The step's texts compiled, once per version of the step (an edit changes ``updated_at``)."""
    return _compiled(step.pk, step.updated_at, (step.subject, step.preheader, step.body_html, step.body_text))


def active_campaign() -> Campaign | None:
    return Campaign.objects.filter(is_active=True).first()


def active_steps() -> list[CampaignStep]:
    """The steps the planner schedules: the active campaign's active steps, soonest first."""
    return list(
        CampaignStep.objects.filter(campaign__is_active=True, is_active=True).order_by("delay_seconds", "position")
    )


# --- services ---------------------------------------------------------------------------------------------------------


def _cancel_unsent(emails, *, note: str) -> int:
    """Cancel reminders not sent yet (pending, or failed and waiting for a resend), with a note saying why."""
    return emails.filter(status__in=UNSENT).update(
        status=RecoveryEmail.Status.CANCELLED, note=note, next_attempt_at=None
    )


def campaign_switched_off(*, campaign: Campaign) -> int:
    """After ``campaign`` was switched off: cancel its reminders not sent yet. Returns how many."""
    return _cancel_unsent(
        RecoveryEmail.objects.filter(campaign_step__campaign=campaign),
        note=CAMPAIGN_OFF_NOTE.format(name=campaign.name),
    )


def step_switched_off(*, step: CampaignStep) -> int:
    """After ``step`` was switched off: cancel its reminders not sent yet. Returns how many."""
    return _cancel_unsent(step.emails.all(), note=STEP_OFF_NOTE.format(position=step.position))


def campaign_activate(*, campaign: Campaign) -> None:
    """Make ``campaign`` the active one: the other is switched off first (one active campaign, held by a partial
    unique index), and its unsent reminders are cancelled. Call inside a transaction."""
    for other in Campaign.objects.select_for_update().filter(is_active=True).exclude(pk=campaign.pk):
        other.is_active = False
        other.save(update_fields=["is_active", "updated_at"])
        campaign_switched_off(campaign=other)
    if not campaign.is_active:
        campaign.is_active = True
        campaign.activated_at = timezone.now()
        campaign.save(update_fields=["is_active", "activated_at", "updated_at"])


def campaign_save(
    *, campaign: Campaign | None, name: str, is_active: bool, steps: list[dict] | None, holdout_percent: int = 0
) -> Campaign:
    """Create or change a campaign and, when ``steps`` is given, make its steps exactly those (by position; values
    already validated). A step left out is removed if it never had a reminder; otherwise it is a Conflict (switch
    it off instead, so its reminders keep their step)."""
    with transaction.atomic():
        if campaign is None:
            campaign = Campaign.objects.create(name=name, is_active=False, holdout_percent=holdout_percent)
        else:
            campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
            was_active = campaign.is_active
            campaign.name = name
            campaign.holdout_percent = holdout_percent
            campaign.save(update_fields=["name", "holdout_percent", "updated_at"])
            if was_active and not is_active:
                campaign.is_active = False
                campaign.save(update_fields=["is_active", "updated_at"])
                campaign_switched_off(campaign=campaign)
        if steps is not None:
            _replace_steps(campaign=campaign, steps=steps)
        if is_active:
            campaign_activate(campaign=campaign)
    return campaign


def _replace_steps(*, campaign: Campaign, steps: list[dict]) -> None:
    existing = {step.position: step for step in campaign.steps.select_for_update()}
    wanted = {values["position"]: values for values in steps}
    for position, step in existing.items():
        if position in wanted:
            continue
        if step.emails.exists():
            raise Conflict(
                f"Step {position} has reminders: switch it off (is_active false) instead of removing it.",
                field="steps",
            )
        step.delete()
    # Free the delays first (the active delays are unique in the database): every active step whose delay changes or
    # that is switched off, so that another step may take its delay whatever the order they are saved in.
    for position, values in wanted.items():
        step = existing.get(position)
        if (
            step is not None
            and step.is_active
            and (values["delay_seconds"] != step.delay_seconds or not values.get("is_active", True))
        ):
            CampaignStep.objects.filter(pk=step.pk).update(is_active=False)
    for position, values in wanted.items():
        step = existing.get(position)
        if step is None:
            CampaignStep.objects.create(campaign=campaign, **values)
            continue
        was_active = step.is_active
        for field, value in values.items():
            setattr(step, field, value)
        step.save()
        if was_active and not step.is_active:
            step_switched_off(step=step)
