"""Sending the due reminders: a recovery emails run (the scheduler's job, or ``manage.py send_recovery_emails``).

:func:`send_due_recovery_emails` works in three phases:

1. **Plan** (recovery/planning.py): the rows of the latest due step of every emailable cart.
2. **Claim** (one short transaction per batch): ``SELECT … FOR UPDATE SKIP LOCKED`` up to ``batch_size`` pending
   rows that are due (from the (status, next_attempt_at) index alone, so a batch costs the same however many rows
   are due), then one conditional UPDATE flips to ``sending`` (with ``claimed_at``) those whose cart is still
   abandoned and whose shopper has not opted out, and a second cancels the rest (checked out, came back, opted
   out). Two schedulers never hold the same row: on PostgreSQL the second skips the rows the first locked; on
   SQLite every write transaction is serialised (``transaction_mode=IMMEDIATE``) and the UPDATEs re-check
   ``status``.
3. **Send** outside any transaction, one message at a time through one backend connection; then mark each row
   ``sent``, or on an exception keep the error, count the attempt and retry later with exponential backoff, up to
   ``CART_RECOVERY_EMAIL_MAX_ATTEMPTS`` attempts, after which the row is ``failed`` (staff can resend it from the
   admin).

A row left in ``sending`` (the process was killed mid-batch) for longer than :data:`STUCK_SENDING_AFTER` is marked
``failed`` with an explanation, not retried: the email may already have gone out, and the contract promises at
most one email per cart per step. Staff see it in the admin and can resend it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Prefetch

from carts.models import Cart, CartItem
from webhooks.models import Event

from .events import record_email_events
from .messages import build_recovery_message, reminder_templates
from .models import RecoveryEmail
from .planning import EMAILABLE_CART, plan_due_recovery_emails

logger = logging.getLogger(__name__)

# A claimed row older than this was abandoned by a process that died mid-send.
STUCK_SENDING_AFTER = timedelta(minutes=30)
# Retry delays: 5 min, 10 min, 20 min, … capped at 6 h.
RETRY_BASE = timedelta(minutes=5)
RETRY_CAP = timedelta(hours=6)
DEFAULT_BATCH_SIZE = 200
# Between the claim and the send the shopper may check out, come back or opt out: the carts are checked again
# before every this many messages (one query each time), so the window is a few sends long, not a whole batch.
RECHECK_EVERY = 10

CANCELLED_NOTE = "Cancelled: the cart was no longer abandoned or the shopper opted out before it was sent."
STUCK_NOTE = (
    "Interrupted while sending (the sending process stopped). Not retried automatically, because the email may "
    "have gone out; use the admin action 'Resend' if the shopper did not get it."
)


@dataclass
class SendResult:
    """What one run did. ``sent`` counts messages the backend accepted."""

    planned: int = 0
    skipped: int = 0
    cancelled: int = 0
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    stuck: int = 0
    seconds: float = 0.0


def recovery_emails_resend(*, email_ids: Sequence[int], now: datetime) -> int:
    """Queue failed emails for one more attempt at the next run (the claim re-checks the cart and the opt-out).
    Returns how many were queued."""
    return RecoveryEmail.objects.filter(pk__in=list(email_ids), status=RecoveryEmail.Status.FAILED).update(
        status=RecoveryEmail.Status.PENDING, next_attempt_at=now
    )


def due_to_send(*, now: datetime) -> int:
    """How many planned reminders are due to be tried at ``now`` (first sends and retries)."""
    return RecoveryEmail.objects.filter(status=RecoveryEmail.Status.PENDING, next_attempt_at__lte=now).count()


def _fail_stuck_rows(*, now: datetime) -> int:
    return RecoveryEmail.objects.filter(
        status=RecoveryEmail.Status.SENDING, claimed_at__lt=now - STUCK_SENDING_AFTER
    ).update(status=RecoveryEmail.Status.FAILED, last_error=STUCK_NOTE, next_attempt_at=None)


def _claim_batch(*, now: datetime, claimed_at: datetime, batch_size: int) -> tuple[list[int], int]:
    """Claim up to ``batch_size`` due rows for this process. Returns (claimed ids, cancelled count).

    The candidates come from the (status, next_attempt_at) index alone, so each batch costs the same however many
    rows are due (a join here made PostgreSQL hash every cart on every batch). Their carts are then re-checked by
    primary key (still abandoned, shopper not opted out) and only those rows flip to ``sending``; the others are
    cancelled in the same transaction, so every batch moves all its rows out of ``pending``."""
    with transaction.atomic():
        rows = list(
            RecoveryEmail.objects.select_for_update(skip_locked=True)
            .filter(status=RecoveryEmail.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", "cart_id")[:batch_size]
        )
        if not rows:
            return [], 0
        ids = [pk for pk, _ in rows]
        # Looked up by primary key, so the plan stays a few index probes per row whatever the table sizes.
        emailable_carts = list(
            Cart.objects.filter(EMAILABLE_CART, pk__in={cart_id for _, cart_id in rows}).values_list("pk", flat=True)
        )
        # Conditional on the status: on SQLite (no row locks) a row another process moved on is not taken.
        candidates = RecoveryEmail.objects.filter(pk__in=ids, status=RecoveryEmail.Status.PENDING)
        claimed = candidates.filter(cart_id__in=emailable_carts).update(
            status=RecoveryEmail.Status.SENDING, claimed_at=claimed_at
        )
        cancelled = candidates.update(status=RecoveryEmail.Status.CANCELLED, last_error=CANCELLED_NOTE)
    return (ids if claimed else []), cancelled


def _retry_delay(attempts: int) -> timedelta:
    return min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_CAP)


def _send_batch(ids: list[int], *, claimed_at: datetime, clock, result: SendResult) -> int:
    """Send the rows of ``ids`` this process claimed at ``claimed_at``; returns how many that was."""
    emails = list(
        RecoveryEmail.objects.filter(pk__in=ids, status=RecoveryEmail.Status.SENDING, claimed_at=claimed_at)
        .select_related("cart__user")
        .prefetch_related(
            Prefetch("cart__lines", queryset=CartItem.objects.select_related("item").order_by("id")),
        )
        .order_by("pk")
    )
    claimed = len(emails)
    templates = reminder_templates()
    sent_ids: list[int] = []
    failures: list[tuple[RecoveryEmail, str]] = []
    backend = get_connection(fail_silently=False)
    try:
        backend.open()
    except Exception as exc:
        failures = [(email, _describe(exc)) for email in emails]
        emails = []
    withdrawn_ids: list[int] = []
    try:
        for start in range(0, len(emails), RECHECK_EVERY):
            chunk = emails[start : start + RECHECK_EVERY]
            still_emailable = set(
                Cart.objects.filter(EMAILABLE_CART, pk__in={email.cart_id for email in chunk}).values_list(
                    "pk", flat=True
                )
            )
            for email in chunk:
                if email.cart_id not in still_emailable:
                    withdrawn_ids.append(email.pk)
                    continue
                try:
                    backend.send_messages([build_recovery_message(email, templates=templates)])
                except Exception as exc:
                    failures.append((email, _describe(exc)))
                else:
                    sent_ids.append(email.pk)
    finally:
        try:
            backend.close()
        except Exception:
            logger.warning("closing the email backend failed", exc_info=True)
    finished = clock()
    if withdrawn_ids:
        result.cancelled += RecoveryEmail.objects.filter(pk__in=withdrawn_ids, claimed_at=claimed_at).update(
            status=RecoveryEmail.Status.CANCELLED, last_error=CANCELLED_NOTE, next_attempt_at=None
        )
    if sent_ids:
        # Keyed on this claim (claimed_at): a row staff re-queued and another process claimed is not touched. Their
        # recovery_email.sent events are written in the same transaction (the outbox), for exactly those rows.
        with transaction.atomic():
            result.sent += RecoveryEmail.objects.filter(pk__in=sent_ids, claimed_at=claimed_at).update(
                status=RecoveryEmail.Status.SENT, sent_at=finished, last_error="", next_attempt_at=None
            )
            record_email_events(
                event_type=Event.Type.RECOVERY_EMAIL_SENT,
                occurred_at=finished,
                emails=RecoveryEmail.objects.filter(
                    pk__in=sent_ids, claimed_at=claimed_at, status=RecoveryEmail.Status.SENT, sent_at=finished
                ),
            )
    for email, error in failures:
        attempts = email.attempts + 1
        gave_up = attempts >= settings.CART_RECOVERY_EMAIL_MAX_ATTEMPTS
        RecoveryEmail.objects.filter(pk=email.pk, claimed_at=claimed_at).update(
            status=RecoveryEmail.Status.FAILED if gave_up else RecoveryEmail.Status.PENDING,
            attempts=attempts,
            last_error=error,
            next_attempt_at=None if gave_up else finished + _retry_delay(attempts),
        )
        if gave_up:
            result.failed += 1
            logger.error("recovery email %d failed for good after %d attempts: %s", email.pk, attempts, error)
        else:
            result.retrying += 1
            logger.warning("recovery email %d failed (attempt %d), will retry: %s", email.pk, attempts, error)
    return claimed


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def send_due_recovery_emails(*, now: datetime, batch_size: int = DEFAULT_BATCH_SIZE) -> SendResult:
    """Plan, claim and send every recovery email due at ``now`` (see the module docstring). Safe to run in several
    processes at once: each (cart, step) is sent at most once.

    ``now`` decides what is due. ``claimed_at``/``sent_at`` are ``now`` plus the time this call has been running,
    so a long run's later batches are not mistaken for stuck ones by another scheduler."""
    started = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    result = SendResult()
    result.planned, result.skipped = plan_due_recovery_emails(now=now)
    result.stuck = _fail_stuck_rows(now=now)
    while True:
        claimed_at = clock()
        ids, cancelled = _claim_batch(now=now, claimed_at=claimed_at, batch_size=batch_size)
        result.cancelled += cancelled
        if not ids and not cancelled:
            break
        if ids:
            result.claimed += _send_batch(ids, claimed_at=claimed_at, clock=clock, result=result)
    result.seconds = time.monotonic() - started
    if result.claimed or result.planned or result.cancelled or result.stuck:
        logger.info(
            "recovery emails: %d planned, %d skipped, %d cancelled, %d sent, %d to retry, %d failed, %d stuck (%.2f s)",
            result.planned,
            result.skipped,
            result.cancelled,
            result.sent,
            result.retrying,
            result.failed,
            result.stuck,
            result.seconds,
        )
    return result
