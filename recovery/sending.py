"""Sending the due reminders: a recovery emails run (the scheduler's job, or ``manage.py send_recovery_emails``), and
a reminder sent now by staff.

:func:`send_due_recovery_emails` works in three phases:

1. **Plan** (recovery/planning.py): the rows of the latest due step of every emailable cart.
2. **Claim** (one short transaction per batch): ``SELECT … FOR UPDATE SKIP LOCKED`` up to ``batch_size`` pending
   rows that are due (from the (status, next_attempt_at) index alone, so a batch costs the same however many rows
   are due), then one conditional UPDATE flips to ``sending`` (with ``claimed_at``) those whose cart is still
   abandoned, whose shopper has not opted out and that no later step of the same cart went out before, and the others
   are cancelled, noted. Two schedulers never hold the same row: on PostgreSQL the second skips the rows the first
   locked; on SQLite every write transaction is serialised (``transaction_mode=IMMEDIATE``) and the UPDATEs re-check
   ``status``.
3. **Send** outside any transaction, one message at a time through one backend connection, **in primary-key order,
   each recorded as soon as it is settled**: ``sent`` (with the recipient, subject and both parts as they went out)
   the moment the backend accepts it, or, on an exception, the error kept, the attempt counted and a retry planned
   with exponential backoff, up to ``CART_RECOVERY_EMAIL_MAX_ATTEMPTS`` attempts, after which the row is ``failed``
   (staff can queue it again from the admin). Rows withdrawn meanwhile (the shopper checked out, came back or opted
   out) and rows deferred by the hourly cap per destination domain are recorded before the next message.

If the process dies mid-batch (a ``kill -9``, a crash), the rows of its claim that are still ``sending`` are, in that
order, the message that was being handed to the mail server (it may have gone out) and messages never tried. After
:data:`STUCK_SENDING_AFTER` the next run marks the first ``failed`` (not retried automatically: the contract promises
at most one email per cart per step; staff can queue it again) and puts the others back to ``pending``: they are
retried, and none is sent twice.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Count, Max, Prefetch

from carts.models import Cart, CartItem
from core.db import one_or_none
from core.errors import Conflict
from users.models import User
from webhooks.models import Event
from webhooks.outbox import wanted

from .campaigns import compiled_step
from .coupons import coupon_context, coupon_for
from .events import record_email_events
from .figures import record_sent
from .messages import Rendered, build_message, domain_of, reminder_context, render_reminder
from .models import CampaignStep, RecoveryEmail
from .planning import EMAILABLE_CART, plan_due_recovery_emails
from .shop import current_shop

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
# The hourly cap per destination domain counts sends over this window.
DOMAIN_WINDOW = timedelta(hours=1)

CANCELLED_NOTE = "Cancelled: the cart was no longer abandoned or the shopper opted out before it was sent."
LATER_STEP_NOTE = "Cancelled: a later reminder step went out first; an earlier one would arrive after it."
STEP_GONE_NOTE = "Cancelled: its step or its campaign was switched off before it went out."
DEFERRED_NOTE = "Deferred: {count} reminders went to {domain} in the last hour (the hourly cap per domain)."
REQUEUED_NOTE = "Queued again: the sending process stopped before trying this one."
STUCK_ERROR = (
    "Interrupted while sending (the sending process stopped while handing this message to the mail server). Not "
    "retried automatically, because the email may have gone out; queue it again from the admin if the shopper did not "
    "get it."
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
    deferred: int = 0
    stuck: int = 0
    requeued: int = 0
    seconds: float = 0.0


# --- staff actions ---------------------------------------------------------------------------------------------------


@dataclass
class ResendReport:
    queued: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)  # email id → why it will not be sent again


def _later_steps_due_or_out(email: RecoveryEmail, *, now: datetime) -> str | None:
    """Why sending ``email`` now would put it after a later reminder of its cart, or None."""
    later = (
        RecoveryEmail.objects.filter(cart_id=email.cart_id, step__gt=email.step)
        .filter(status__in=[RecoveryEmail.Status.SENT, RecoveryEmail.Status.SENDING, RecoveryEmail.Status.PENDING])
        .values_list("step", flat=True)
        .first()
    )
    if later is not None:
        return f"step {later} of this cart was already sent or is on its way; step {email.step} would arrive after it"
    due = (
        CampaignStep.objects.filter(campaign__is_active=True, is_active=True, position__gt=email.step)
        .filter(delay_seconds__lte=(now - email.cart.abandoned_at).total_seconds())
        .values_list("position", flat=True)
        .first()
    )
    if due is not None:
        return f"step {due} is already due for this cart; step {email.step} would arrive after it"
    return None


def recovery_emails_resend(*, email_ids: Sequence[int], now: datetime, staff: User | None = None) -> ResendReport:
    """Queue failed reminders for one more try at the next run, or say plainly why one will not go out again: it is
    not failed, the cart was bought or came back, the shopper unsubscribed, its step was switched off, or a later
    step of the cart went out or is due (an earlier reminder never arrives after a later one)."""
    report = ResendReport()
    emails = RecoveryEmail.objects.filter(pk__in=list(email_ids)).select_related(
        "cart__user", "campaign_step__campaign"
    )
    for email in emails.order_by("pk"):
        reason = None
        if email.status != RecoveryEmail.Status.FAILED:
            reason = f"it is {email.get_status_display().lower()}, not failed"
        elif email.cart.status != Cart.Status.ABANDONED:
            reason = "the cart is no longer abandoned (bought, or the shopper came back)"
        elif email.cart.user.email_opt_out:
            reason = "the shopper unsubscribed"
        elif email.campaign_step is None or not (
            email.campaign_step.is_active and email.campaign_step.campaign.is_active
        ):
            reason = "its step is switched off"
        else:
            reason = _later_steps_due_or_out(email, now=now)
        if reason is not None:
            report.refused[email.pk] = reason
            continue
        who = f" by {staff.email}" if staff is not None else ""
        updated = RecoveryEmail.objects.filter(pk=email.pk, status=RecoveryEmail.Status.FAILED).update(
            status=RecoveryEmail.Status.PENDING,
            next_attempt_at=now,
            attempts=0,
            claimed_at=None,
            note=f"Queued again{who} on {now:%Y-%m-%d %H:%M} UTC.",
        )
        (report.queued.append(email.pk) if updated else report.refused.__setitem__(email.pk, "it changed meanwhile"))
    return report


class NothingToSend(Conflict):
    """Staff asked for the next reminder of a cart that gets none; the message says why."""


def next_step_for(cart: Cart) -> CampaignStep:
    """The next reminder ``cart`` would get now: the active campaign's first active step after the last one it had,
    or NothingToSend saying why there is none."""
    if cart.status != Cart.Status.ABANDONED:
        raise NothingToSend(f"Cart #{cart.pk} is not abandoned (it is {cart.get_status_display().lower()}).")
    if cart.user.email_opt_out:
        raise NothingToSend(f"The shopper of cart #{cart.pk} unsubscribed from reminders.")
    if cart.recovery_group == Cart.RecoveryGroup.HOLDOUT:
        raise NothingToSend(
            f"Cart #{cart.pk} is in the holdout group: it gets no reminders, so that the report can measure what the "
            "reminders earn."
        )
    steps = list(CampaignStep.objects.filter(campaign__is_active=True, is_active=True).order_by("position"))
    if not steps:
        raise NothingToSend("No campaign is active: there is no reminder to send.")
    taken = dict(RecoveryEmail.objects.filter(cart_id=cart.pk).values_list("step", "status"))
    last_out = max(
        (step for step, status in taken.items() if status in (RecoveryEmail.Status.SENT, RecoveryEmail.Status.SENDING)),
        default=0,
    )
    for step in steps:
        if step.position > last_out and taken.get(step.position) != RecoveryEmail.Status.SENT:
            return step
    raise NothingToSend(f"Cart #{cart.pk} already had every step of the active campaign.")


def reminder_send_now(*, cart_id: int, staff: User, now: datetime) -> RecoveryEmail:
    """Send ``cart``'s next reminder now, by hand (the admin's action, POST /api/carts/{id}/send-reminder/). Exactly
    once per step as always: the row is claimed in a transaction under the cart's lock, then sent."""
    with transaction.atomic():
        cart = one_or_none(Cart.objects.select_for_update().select_related("user").filter(pk=cart_id))
        if cart is None:
            raise NothingToSend(f"Cart #{cart_id} does not exist.")
        step = next_step_for(cart)
        email, _ = RecoveryEmail.objects.get_or_create(
            cart=cart, step=step.position, defaults={"planned_at": now, "campaign_step": step}
        )
        # Locked, then re-checked: a scheduler that claimed the same row first is sending it already.
        email = RecoveryEmail.objects.select_for_update().get(pk=email.pk)
        if email.status in (RecoveryEmail.Status.SENDING, RecoveryEmail.Status.SENT):
            raise NothingToSend(f"Step {step.position} of cart #{cart.pk} is being sent already.")
        RecoveryEmail.objects.filter(pk=email.pk).update(
            status=RecoveryEmail.Status.SENDING,
            claimed_at=now,
            campaign_step=step,
            next_attempt_at=None,
            requested_by=staff,
            note=f"Sent by hand by {staff.email}.",
        )
        # An earlier step still waiting must not follow this one.
        RecoveryEmail.objects.filter(cart=cart, step__lt=step.position, status=RecoveryEmail.Status.PENDING).update(
            status=RecoveryEmail.Status.CANCELLED, note=LATER_STEP_NOTE, next_attempt_at=None
        )
    result = SendResult()
    _send_batch([email.pk], claimed_at=now, clock=lambda: now, result=result, apply_domain_cap=False)
    return RecoveryEmail.objects.get(pk=email.pk)


# --- phase 2: claim --------------------------------------------------------------------------------------------------


def due_to_send(*, now: datetime) -> int:
    """How many planned reminders are due to be tried at ``now`` (first sends and retries)."""
    return RecoveryEmail.objects.filter(status=RecoveryEmail.Status.PENDING, next_attempt_at__lte=now).count()


def _recover_stuck_rows(*, now: datetime) -> tuple[int, int]:
    """Rows a dead process left in ``sending``: per claim, the first in send order → failed (it may have gone out),
    the rest → pending again (never tried). Returns (failed, requeued)."""
    stuck = list(
        RecoveryEmail.objects.filter(
            status=RecoveryEmail.Status.SENDING, claimed_at__lt=now - STUCK_SENDING_AFTER
        ).values_list("pk", "claimed_at")
    )
    if not stuck:
        return 0, 0
    by_claim: dict[datetime, list[int]] = defaultdict(list)
    for pk, claimed_at in stuck:
        by_claim[claimed_at].append(pk)
    in_flight = [min(pks) for pks in by_claim.values()]
    never_tried = [pk for pks in by_claim.values() for pk in pks if pk != min(pks)]
    sending = RecoveryEmail.objects.filter(status=RecoveryEmail.Status.SENDING)
    failed = sending.filter(pk__in=in_flight).update(
        status=RecoveryEmail.Status.FAILED, last_error=STUCK_ERROR, next_attempt_at=None
    )
    requeued = sending.filter(pk__in=never_tried).update(
        status=RecoveryEmail.Status.PENDING, next_attempt_at=now, claimed_at=None, note=REQUEUED_NOTE
    )
    return failed, requeued


def _claim_batch(*, now: datetime, claimed_at: datetime, batch_size: int) -> tuple[list[int], int]:
    """Claim up to ``batch_size`` due rows for this process. Returns (claimed ids, cancelled count).

    The candidates come from the (status, next_attempt_at) index alone, so each batch costs the same however many
    rows are due (a join here made PostgreSQL hash every cart on every batch). Their carts are then re-checked by
    primary key and only the rows that may go out flip to ``sending``; the others are cancelled in the same
    transaction, so every batch moves all its rows out of ``pending``."""
    with transaction.atomic():
        rows = list(
            RecoveryEmail.objects.select_for_update(skip_locked=True)
            .filter(status=RecoveryEmail.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", "cart_id", "step")[:batch_size]
        )
        if not rows:
            return [], 0
        cart_ids = {cart_id for _, cart_id, _ in rows}
        # Looked up by primary key, so the plan stays a few index probes per row whatever the table sizes.
        emailable = set(Cart.objects.filter(EMAILABLE_CART, pk__in=cart_ids).values_list("pk", flat=True))
        latest_out = dict(
            RecoveryEmail.objects.filter(
                cart_id__in=cart_ids, status__in=[RecoveryEmail.Status.SENT, RecoveryEmail.Status.SENDING]
            )
            .values("cart_id")
            .annotate(latest=Max("step"))
            .values_list("cart_id", "latest")
        )
        overtaken = [pk for pk, cart_id, step in rows if latest_out.get(cart_id, 0) > step]
        withdrawn = [pk for pk, cart_id, _ in rows if cart_id not in emailable]
        # Conditional on the status: on SQLite (no row locks) a row another process moved on is not taken.
        candidates = RecoveryEmail.objects.filter(pk__in=[pk for pk, _, _ in rows], status=RecoveryEmail.Status.PENDING)
        cancelled = candidates.filter(pk__in=withdrawn).update(
            status=RecoveryEmail.Status.CANCELLED, note=CANCELLED_NOTE, next_attempt_at=None
        )
        cancelled += candidates.filter(pk__in=overtaken).update(
            status=RecoveryEmail.Status.CANCELLED, note=LATER_STEP_NOTE, next_attempt_at=None
        )
        claimable = candidates.exclude(pk__in=withdrawn + overtaken)
        ids = list(claimable.values_list("pk", flat=True))
        claimable.update(status=RecoveryEmail.Status.SENDING, claimed_at=claimed_at)
    return ids, cancelled


# --- phase 3: send ---------------------------------------------------------------------------------------------------


def _retry_delay(attempts: int) -> timedelta:
    return min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_CAP)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


class _DomainCap:
    """The hourly cap on reminders per destination domain, counted from the sends of the last hour."""

    def __init__(self, *, domains: set[str], now: datetime, enabled: bool):
        self.limit = settings.CART_RECOVERY_EMAILS_PER_DOMAIN_PER_HOUR if enabled else 0
        self.counts: Counter = Counter()
        if self.limit and domains:
            self.counts.update(
                dict(
                    RecoveryEmail.objects.filter(
                        status=RecoveryEmail.Status.SENT, recipient_domain__in=domains, sent_at__gte=now - DOMAIN_WINDOW
                    )
                    .values("recipient_domain")
                    .annotate(n=Count("pk"))
                    .values_list("recipient_domain", "n")
                )
            )

    def full(self, domain: str) -> bool:
        return bool(self.limit) and self.counts[domain] >= self.limit

    def count(self, domain: str) -> None:
        self.counts[domain] += 1


def _send_batch(
    ids: list[int], *, claimed_at: datetime, clock, result: SendResult, apply_domain_cap: bool = True
) -> int:
    """Send the rows of ``ids`` this process claimed at ``claimed_at``, recording each as it settles; returns how many
    rows were claimed."""
    emails = list(
        RecoveryEmail.objects.filter(pk__in=ids, status=RecoveryEmail.Status.SENDING, claimed_at=claimed_at)
        .select_related("cart__user", "campaign_step__campaign")
        .prefetch_related(Prefetch("cart__lines", queryset=CartItem.objects.select_related("item").order_by("id")))
        .order_by("pk")
    )
    if not emails:
        return 0
    mine = RecoveryEmail.objects.filter(claimed_at=claimed_at, status=RecoveryEmail.Status.SENDING)
    shop = current_shop()
    events = wanted(Event.Type.RECOVERY_EMAIL_SENT)  # read once a batch, not once a message
    cap = _DomainCap(
        domains={domain_of(email.cart.user.email) for email in emails}, now=clock(), enabled=apply_domain_cap
    )
    backend = get_connection(fail_silently=False)
    try:
        backend.open()
    except Exception as exc:
        for email in emails:
            _record_failure(email, error=_describe(exc), claimed_at=claimed_at, at=clock(), result=result)
        return len(emails)
    try:
        for start in range(0, len(emails), RECHECK_EVERY):
            chunk = emails[start : start + RECHECK_EVERY]
            still = set(
                Cart.objects.filter(EMAILABLE_CART, pk__in={e.cart_id for e in chunk}).values_list("pk", flat=True)
            )
            withdrawn = [email.pk for email in chunk if email.cart_id not in still]
            gone = [email.pk for email in chunk if email.cart_id in still and not _step_is_on(email)]
            if withdrawn:
                result.cancelled += mine.filter(pk__in=withdrawn).update(
                    status=RecoveryEmail.Status.CANCELLED, note=CANCELLED_NOTE, next_attempt_at=None
                )
            if gone:
                result.cancelled += mine.filter(pk__in=gone).update(
                    status=RecoveryEmail.Status.CANCELLED, note=STEP_GONE_NOTE, next_attempt_at=None
                )
            for email in chunk:
                if email.pk in withdrawn or email.pk in gone:
                    continue
                recipient = email.cart.user.email
                domain = domain_of(recipient)
                if cap.full(domain):
                    result.deferred += mine.filter(pk=email.pk).update(
                        status=RecoveryEmail.Status.PENDING,
                        claimed_at=None,
                        next_attempt_at=clock() + DOMAIN_WINDOW / 4,
                        note=DEFERRED_NOTE.format(count=cap.counts[domain], domain=domain),
                    )
                    continue
                _send_one(email, backend=backend, shop=shop, recipient=recipient, claimed_at=claimed_at, clock=clock,
                          result=result, events=events)  # fmt: skip
                cap.count(domain)
    finally:
        try:
            backend.close()
        except Exception:
            logger.warning("closing the email backend failed", exc_info=True)
    return len(emails)


def _step_is_on(email: RecoveryEmail) -> bool:
    step = email.campaign_step
    return step is not None and step.is_active and step.campaign.is_active


def _send_one(
    email: RecoveryEmail, *, backend, shop, recipient: str, claimed_at, clock, result: SendResult, events: bool
) -> None:
    try:
        coupon = coupon_for(email=email, step=email.campaign_step, now=clock())
        context = reminder_context(email=email, shop=shop) | {"coupon": coupon_context(coupon)}
        rendered = render_reminder(compiled=compiled_step(email.campaign_step), context=context)
        backend.send_messages([build_message(email=email, rendered=rendered, shop=shop, recipient=recipient)])
    except Exception as exc:
        _record_failure(email, error=_describe(exc), claimed_at=claimed_at, at=clock(), result=result)
        return
    _record_sent(
        email, rendered=rendered, recipient=recipient, claimed_at=claimed_at, at=clock(), result=result, events=events
    )


def _record_sent(
    email: RecoveryEmail, *, rendered: Rendered, recipient: str, claimed_at, at, result, events: bool
) -> None:
    with transaction.atomic():
        # Keyed on this claim (claimed_at): a row staff queued again and another process claimed is not touched.
        sent = _mark_sent(email, rendered=rendered, recipient=recipient, claimed_at=claimed_at, at=at)
        if sent:
            record_sent(step=email.step, sent_at=at)
        if sent and events:
            # Its recovery_email.sent event, in the same transaction (the outbox): exactly the row marked.
            record_email_events(
                event_type=Event.Type.RECOVERY_EMAIL_SENT,
                occurred_at=at,
                emails=RecoveryEmail.objects.filter(pk=email.pk, status=RecoveryEmail.Status.SENT, sent_at=at),
            )
    result.sent += sent


def _mark_sent(email: RecoveryEmail, *, rendered: Rendered, recipient: str, claimed_at, at) -> int:
    return RecoveryEmail.objects.filter(pk=email.pk, claimed_at=claimed_at).update(
        status=RecoveryEmail.Status.SENT,
        attempts=email.attempts + 1,
        sent_at=at,
        last_error="",
        next_attempt_at=None,
        recipient=recipient,
        recipient_domain=domain_of(recipient),
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
    )


def _record_failure(email: RecoveryEmail, *, error: str, claimed_at, at, result: SendResult) -> None:
    attempts = email.attempts + 1
    gave_up = attempts >= settings.CART_RECOVERY_EMAIL_MAX_ATTEMPTS
    RecoveryEmail.objects.filter(pk=email.pk, claimed_at=claimed_at).update(
        status=RecoveryEmail.Status.FAILED if gave_up else RecoveryEmail.Status.PENDING,
        attempts=attempts,
        last_error=error,
        next_attempt_at=None if gave_up else at + _retry_delay(attempts),
    )
    if gave_up:
        result.failed += 1
        logger.error("recovery email %d failed for good after %d attempts: %s", email.pk, attempts, error)
    else:
        result.retrying += 1
        logger.warning("recovery email %d failed (attempt %d), will retry: %s", email.pk, attempts, error)


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
    result.stuck, result.requeued = _recover_stuck_rows(now=now)
    while True:
        claimed_at = clock()
        ids, cancelled = _claim_batch(now=now, claimed_at=claimed_at, batch_size=batch_size)
        result.cancelled += cancelled
        if not ids and not cancelled:
            break
        if ids:
            result.claimed += _send_batch(ids, claimed_at=claimed_at, clock=clock, result=result)
    result.seconds = time.monotonic() - started
    if result.claimed or result.planned or result.cancelled or result.stuck or result.requeued:
        logger.info(
            "recovery emails: %d planned, %d skipped, %d cancelled, %d sent, %d to retry, %d failed, %d deferred, "
            "%d stuck, %d queued again (%.2f s)",
            result.planned,
            result.skipped,
            result.cancelled,
            result.sent,
            result.retrying,
            result.failed,
            result.deferred,
            result.stuck,
            result.requeued,
            result.seconds,
        )
    return result
