"""Which reminders are due: phase 1 of a recovery emails run (recovery/sending.py runs the other two).

For every cart still abandoned whose shopper has not opted out, create the ``RecoveryEmail`` row of the *latest* step
that is due, set-based (``INSERT … SELECT … ON CONFLICT DO NOTHING``, one statement per step whatever the number of
carts). The unique (cart, step) constraint makes two schedulers planning at once harmless. A step whose time passed
while a later step is also due is recorded as ``cancelled`` ("skipped") instead of sent: a shopper never gets two
reminders in one burst (e.g. after the scheduler was stopped for a day). Abandonments older than the last step plus
:data:`PLAN_HORIZON` are not planned at all: a reminder weeks late reads as spam, and the planning query stays bounded
however many carts stay abandoned forever.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import CharField, DateTimeField, Exists, ExpressionWrapper, F, IntegerField, OuterRef, Q, Value

from carts.models import Cart
from core.sql import insert_from_select

from .models import RecoveryEmail

# How long after the last step an abandonment is still worth a reminder.
PLAN_HORIZON = timedelta(days=7)

SKIPPED_NOTE = "Skipped: a later reminder step was already due when this one was planned."

# The rule for "this cart may get a reminder": still abandoned, and its shopper has not opted out. The planner, the
# claim and the send loop's re-check all use it.
EMAILABLE_CART = Q(status=Cart.Status.ABANDONED, user__email_opt_out=False)


def steps_by_delay() -> list[tuple[int, timedelta]]:
    """[(step number from 1, delay after abandonment)] in order of delay."""
    steps = [(number, timedelta(seconds=delay)) for number, delay in enumerate(settings.CART_RECOVERY_EMAIL_STEPS, 1)]
    return sorted(steps, key=lambda step: (step[1], step[0]))


def _plan_rows(carts, *, step: int, delay: timedelta, status: str, note: str, now: datetime) -> int:
    """Insert the (cart, step) rows for ``carts`` unless they exist; returns how many were inserted."""
    planned_at = ExpressionWrapper(F("abandoned_at") + Value(delay), output_field=DateTimeField())
    rows = (
        carts.filter(~Exists(RecoveryEmail.objects.filter(cart=OuterRef("pk"), step=step)))
        .order_by("pk")  # the same insert order in every process, so two planners never deadlock
        .annotate(
            r_step=Value(step, output_field=IntegerField()),
            r_status=Value(status, output_field=CharField()),
            r_planned=planned_at,
            r_next=planned_at,
            r_attempts=Value(0, output_field=IntegerField()),
            r_error=Value(note, output_field=CharField()),
            r_created=Value(now, output_field=DateTimeField()),
        )
        .values_list("pk", "r_step", "r_status", "r_planned", "r_next", "r_attempts", "r_error", "r_created")
    )
    return insert_from_select(
        RecoveryEmail,
        fields=["cart", "step", "status", "planned_at", "next_attempt_at", "attempts", "last_error", "created_at"],
        rows=rows,
        conflict_fields=["cart", "step"],
    )


def _due_by_step(*, now: datetime):
    """(step, delay, carts due for that step and no later one), in order of delay: the planner's rule, once."""
    steps = steps_by_delay()
    if not steps:
        return
    horizon = now - (steps[-1][1] + PLAN_HORIZON)
    carts = Cart.objects.filter(EMAILABLE_CART, abandoned_at__gt=horizon)
    for index, (step, delay) in enumerate(steps):
        due = carts.filter(abandoned_at__lte=now - delay)
        later_due = Q(abandoned_at__lte=now - steps[index + 1][1]) if index + 1 < len(steps) else None
        yield step, delay, due, later_due


def would_plan(*, now: datetime) -> dict[int, int]:
    """Step → how many reminders of that step a run at ``now`` would plan (a dry run: nothing is written)."""
    counts = {}
    for step, _, due, later_due in _due_by_step(now=now):
        if later_due is not None:
            due = due.exclude(later_due)
        counts[step] = due.filter(~Exists(RecoveryEmail.objects.filter(cart=OuterRef("pk"), step=step))).count()
    return counts


def plan_due_recovery_emails(*, now: datetime) -> tuple[int, int]:
    """Create the rows of the latest due step of every emailable cart. Returns (planned, skipped)."""
    planned = skipped = 0
    for step, delay, due, later_due in _due_by_step(now=now):
        if later_due is not None:
            # A later step is due as well: this one is skipped, and one planned but never tried gives way too
            # (rows already tried are retries or a staff "resend", which go out as asked).
            RecoveryEmail.objects.filter(
                status=RecoveryEmail.Status.PENDING, attempts=0, step=step, cart__in=due.filter(later_due).values("pk")
            ).update(status=RecoveryEmail.Status.CANCELLED, last_error=SKIPPED_NOTE)
            skipped += _plan_rows(
                due.filter(later_due),
                step=step,
                delay=delay,
                status=RecoveryEmail.Status.CANCELLED,
                note=SKIPPED_NOTE,
                now=now,
            )
            due = due.exclude(later_due)
        planned += _plan_rows(due, step=step, delay=delay, status=RecoveryEmail.Status.PENDING, note="", now=now)
    return planned, skipped
