"""Which reminders are due: phase 1 of a recovery emails run (recovery/sending.py runs the other two).

The steps are the active campaign's active steps (recovery/campaigns.py), soonest first. For every cart still
abandoned whose shopper has not opted out, create the ``RecoveryEmail`` row of the *latest* step that is due,
set-based (``INSERT … SELECT … ON CONFLICT DO NOTHING``, one statement per step whatever the number of carts). The
unique (cart, step) constraint makes two schedulers planning at once harmless. A step whose time passed while a later
step is also due is recorded as ``cancelled`` ("skipped") instead of sent: a shopper never gets two reminders in one
burst (e.g. after the scheduler was stopped for a day), and never an earlier step after a later one (a retry of step 1
still waiting when step 2 is planned is cancelled, noted). Abandonments older than the last step plus
:data:`PLAN_HORIZON` are not planned at all: a reminder weeks late reads as spam, and the planning query stays bounded
however many carts stay abandoned forever.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import CharField, DateTimeField, Exists, ExpressionWrapper, F, IntegerField, OuterRef, Q, Value

from carts.models import Cart
from carts.services import carts_assign_recovery_groups
from core.sql import insert_from_select

from .campaigns import active_campaign, active_steps
from .models import CampaignStep, RecoveryEmail

# How long after the last step an abandonment is still worth a reminder.
PLAN_HORIZON = timedelta(days=7)

SKIPPED_NOTE = "Skipped: a later reminder step was already due when this one was planned."
OVERTAKEN_NOTE = "Cancelled: a later reminder step was planned before this one went out."

# The rule for "this cart may get a reminder": still abandoned, its shopper has not opted out, and it is not in the
# holdout group. The planner, the claim and the send loop's re-check all use it.
EMAILABLE_CART = Q(status=Cart.Status.ABANDONED, user__email_opt_out=False) & ~Q(
    recovery_group=Cart.RecoveryGroup.HOLDOUT
)


def _due_by_step(*, now: datetime) -> Iterator[tuple[CampaignStep, timedelta, object, Q | None]]:
    """(step, delay, carts due for that step, the rule "a later step is due too"), soonest step first."""
    steps = active_steps()
    if not steps:
        return
    delays = [timedelta(seconds=step.delay_seconds) for step in steps]
    horizon = now - (delays[-1] + PLAN_HORIZON)
    carts = Cart.objects.filter(EMAILABLE_CART, abandoned_at__gt=horizon)
    for index, step in enumerate(steps):
        later_due = Q(abandoned_at__lte=now - delays[index + 1]) if index + 1 < len(steps) else None
        yield step, delays[index], carts.filter(abandoned_at__lte=now - delays[index]), later_due


# The columns the planner fills; the others take their database defaults (RecoveryEmail's ``db_default``s).
PLANNED_COLUMNS = {
    "cart": None,
    "step": IntegerField,
    "campaign_step": IntegerField,
    "status": CharField,
    "planned_at": DateTimeField,
    "next_attempt_at": DateTimeField,
    "note": CharField,
    "created_at": DateTimeField,
}


def _plan_rows(carts, *, step: CampaignStep, delay: timedelta, status: str, note: str, now: datetime) -> int:
    """Insert the (cart, step) rows for ``carts`` unless they exist; returns how many were inserted."""
    planned_at = ExpressionWrapper(F("abandoned_at") + Value(delay), output_field=DateTimeField())
    values = {
        "step": step.position,
        "campaign_step": step.pk,
        "status": status,
        "note": note,
        "created_at": now,
    }
    annotations = {
        f"r_{column}": (
            planned_at
            if column in ("planned_at", "next_attempt_at")
            else Value(values.get(column, ""), output_field=PLANNED_COLUMNS[column]())
        )
        for column in PLANNED_COLUMNS
        if column != "cart"
    }
    rows = (
        carts.filter(~Exists(RecoveryEmail.objects.filter(cart=OuterRef("pk"), step=step.position)))
        .order_by("pk")  # the same insert order in every process, so two planners never deadlock
        .annotate(**annotations)
        .values_list("pk", *annotations)
    )
    return insert_from_select(RecoveryEmail, fields=list(PLANNED_COLUMNS), rows=rows, conflict_fields=["cart", "step"])


def would_plan(*, now: datetime) -> dict[int, int]:
    """Step position → how many reminders of that step a run at ``now`` would plan (nothing is written)."""
    counts = {}
    for step, _, due, later_due in _due_by_step(now=now):
        if later_due is not None:
            due = due.exclude(later_due)
        counts[step.position] = due.filter(
            ~Exists(RecoveryEmail.objects.filter(cart=OuterRef("pk"), step=step.position))
        ).count()
    return counts


def assign_holdout_groups(*, rng=None) -> int:
    """Draw treated or holdout for the carts abandoned under the active campaign and not drawn yet (once and for all,
    stored on the cart). Returns how many were drawn."""
    campaign = active_campaign()
    if campaign is None or campaign.activated_at is None:
        return 0
    drawn = 0
    while True:
        batch = carts_assign_recovery_groups(
            holdout_share=Decimal(campaign.holdout_percent) / 100,
            campaign_started_at=campaign.activated_at,
            rng=rng or random.SystemRandom(),
        )
        drawn += batch
        if batch == 0:
            return drawn


def plan_due_recovery_emails(*, now: datetime) -> tuple[int, int]:
    """Draw the holdout groups, then create the rows of the latest due step of every emailable cart. Returns
    (planned, skipped)."""
    assign_holdout_groups()
    planned = skipped = 0
    for step, delay, due, later_due in _due_by_step(now=now):
        if later_due is not None:
            skipped += _plan_rows(
                due.filter(later_due), step=step, delay=delay, status=RecoveryEmail.Status.CANCELLED,
                note=SKIPPED_NOTE, now=now,
            )  # fmt: skip
            due = due.exclude(later_due)
        # An earlier step still waiting (a retry, a reminder planned but not yet sent) gives way to this one.
        RecoveryEmail.objects.filter(
            status=RecoveryEmail.Status.PENDING, step__lt=step.position, cart__in=due.values("pk")
        ).update(status=RecoveryEmail.Status.CANCELLED, note=OVERTAKEN_NOTE, next_attempt_at=None)
        planned += _plan_rows(due, step=step, delay=delay, status=RecoveryEmail.Status.PENDING, note="", now=now)
    return planned, skipped
