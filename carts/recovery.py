"""Recovery emails: plan the due reminder steps, claim them, send them, and the signed links they carry.

The scheduler calls :func:`send_due_recovery_emails` every sweep interval. One call works in three phases:

1. **Plan** (set-based, ``INSERT … SELECT … ON CONFLICT DO NOTHING``): for every cart still abandoned whose shopper
   has not opted out, create the ``RecoveryEmail`` row of the *latest* step that is due. The unique (cart, step)
   constraint makes two schedulers planning at once harmless. A step whose time passed while a later step is also
   due is recorded as ``cancelled`` ("skipped") instead of sent: a shopper never gets two reminders in one burst
   (e.g. after the scheduler was stopped for a day). Abandonments older than the last step plus
   :data:`PLAN_HORIZON` are not planned at all: a reminder weeks late reads as spam, and the planning query stays
   bounded however many carts stay abandoned forever.
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
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import CharField as CharFieldType
from django.db.models import DateTimeField, Exists, ExpressionWrapper, F, IntegerField, OuterRef, Prefetch, Q, Value
from django.template.loader import get_template
from django.urls import reverse

from users.models import User

from .models import Cart, CartItem, RecoveryEmail
from .services import cart_recover

logger = logging.getLogger(__name__)

RECOVERY_LINK_SALT = "carts.recovery-link"
UNSUBSCRIBE_SALT = "carts.unsubscribe"

# How long after the last step an abandonment is still worth a reminder (see the module docstring).
PLAN_HORIZON = timedelta(days=7)
# A claimed row older than this was abandoned by a process that died mid-send.
STUCK_SENDING_AFTER = timedelta(minutes=30)
# Retry delays: 5 min, 10 min, 20 min, … capped at 6 h.
RETRY_BASE = timedelta(minutes=5)
RETRY_CAP = timedelta(hours=6)
DEFAULT_BATCH_SIZE = 200

SKIPPED_NOTE = "Skipped: a later reminder step was already due when this one was planned."
CANCELLED_NOTE = "Cancelled: the cart was no longer abandoned or the shopper opted out before it was sent."
STUCK_NOTE = (
    "Interrupted while sending (the sending process stopped). Not retried automatically, because the email may "
    "have gone out; use the admin action 'Resend' if the shopper did not get it."
)

# The rule for "this cart may get a reminder", from the cart's side and from the email's side.
EMAILABLE_CART = Q(status=Cart.Status.ABANDONED, user__email_opt_out=False)
# Between the claim and the send the shopper may check out, come back or opt out: the carts are checked again
# before every this many messages (one query each time), so the window is a few sends long, not a whole batch.
RECHECK_EVERY = 10

SUBJECTS = {1: "You left something in your cart"}
LATER_SUBJECT = "Your cart is still waiting for you"


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


# --- Tokens ---------------------------------------------------------------------------------------------------


class RecoveryLinkError(Exception):
    """A recovery or unsubscribe token that cannot be used; ``status`` is the HTTP status the page answers with."""

    status = 400
    title = "This link is not valid"
    message = "The link may have been cut or changed. Please use the link from your email as it is."


class RecoveryLinkExpired(RecoveryLinkError):
    status = 410
    title = "This link has expired"
    message = "Recovery links work for a limited time. Your cart may still be waiting in the shop."


class RecoveryLinkCartGone(RecoveryLinkError):
    status = 404
    title = "This cart no longer exists"
    message = "We could not find this cart any more."


class RecoveryLinkCartCheckedOut(RecoveryLinkError):
    status = 409
    title = "You already ordered this cart"
    message = "This cart has been checked out, so there is nothing left to recover. Thank you for your order!"


def make_recovery_token(*, cart_id: int, email_id: int | None) -> str:
    """A signed, timestamped token naming the cart (and the email, to record its click)."""
    return signing.dumps({"c": cart_id, "e": email_id}, salt=RECOVERY_LINK_SALT)


def read_recovery_token(token: str) -> tuple[int, int | None]:
    """(cart_id, email_id) of a token, or RecoveryLinkError / RecoveryLinkExpired."""
    try:
        payload = signing.loads(token, salt=RECOVERY_LINK_SALT, max_age=settings.CART_RECOVERY_LINK_MAX_AGE_SECONDS)
    except signing.SignatureExpired as exc:
        raise RecoveryLinkExpired from exc
    except (signing.BadSignature, ValueError, UnicodeError) as exc:
        raise RecoveryLinkError from exc
    cart_id, email_id = _payload_ids(payload, "c", "e")
    return cart_id, email_id


def make_unsubscribe_token(*, user_id: int) -> str:
    """A signed token naming the user. It does not expire: an unsubscribe link must keep working (rotating
    DJANGO_SECRET_KEY revokes every token)."""
    return signing.dumps({"u": user_id}, salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: str) -> int:
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, UnicodeError) as exc:
        raise RecoveryLinkError from exc
    user_id, _ = _payload_ids(payload, "u", None)
    return user_id


def _payload_ids(payload, key: str, optional_key: str | None) -> tuple[int, int | None]:
    if not isinstance(payload, dict) or not isinstance(payload.get(key), int):
        raise RecoveryLinkError
    second = payload.get(optional_key) if optional_key else None
    if second is not None and not isinstance(second, int):
        raise RecoveryLinkError
    return payload[key], second


def recovery_url(*, cart_id: int, email_id: int | None) -> str:
    token = make_recovery_token(cart_id=cart_id, email_id=email_id)
    return settings.SITE_URL + reverse("carts:recover", args=[token])


def unsubscribe_url(*, user_id: int) -> str:
    return settings.SITE_URL + reverse("carts:unsubscribe", args=[make_unsubscribe_token(user_id=user_id)])


def redirect_url_for(*, cart_id: int) -> str:
    """CART_RECOVERY_REDIRECT_URL with the cart id: ``{cart_id}`` in the URL is replaced, otherwise ``cart_id=`` is
    added to its query string. Empty when the setting is unset."""
    base = settings.CART_RECOVERY_REDIRECT_URL
    if not base:
        return ""
    if "{cart_id}" in base:
        return base.replace("{cart_id}", str(cart_id))
    parts = urlsplit(base)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("cart_id", str(cart_id))]
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- Opening a link -------------------------------------------------------------------------------------------


def recovery_link_open(*, token: str, now: datetime) -> Cart:
    """The shopper opened a recovery link: reactivate the cart (``recovery_source="email_link"`` the first time it
    comes back) and record the click on its email. Raises a RecoveryLinkError subclass for a bad, expired,
    unknown or checked-out cart's token."""
    cart_id, email_id = read_recovery_token(token)
    with transaction.atomic():
        cart = Cart.objects.select_for_update().filter(pk=cart_id).first()
        if cart is None:
            raise RecoveryLinkCartGone
        if cart.status == Cart.Status.CHECKED_OUT:
            raise RecoveryLinkCartCheckedOut
        cart = cart_recover(cart_id=cart_id, now=now, source=Cart.RecoverySource.EMAIL_LINK)
        if email_id is not None:
            RecoveryEmail.objects.filter(pk=email_id, cart_id=cart_id, clicked_at__isnull=True).update(clicked_at=now)
    logger.info("recovery link opened for cart %d (email %s)", cart_id, email_id)
    return cart


def user_for_unsubscribe_token(*, token: str) -> User:
    user = User.objects.filter(pk=read_unsubscribe_token(token)).first()
    if user is None:
        raise RecoveryLinkError
    return user


def recovery_unsubscribe(*, token: str, now: datetime) -> User:
    """Opt the token's user out of recovery emails and cancel the reminders still waiting for them."""
    user = user_for_unsubscribe_token(token=token)
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(email_opt_out=True)
        RecoveryEmail.objects.filter(cart__user=user, status=RecoveryEmail.Status.PENDING).update(
            status=RecoveryEmail.Status.CANCELLED, last_error="Cancelled: the shopper unsubscribed."
        )
    user.email_opt_out = True
    logger.info("user %d unsubscribed from recovery emails", user.pk)
    return user


# --- Admin ------------------------------------------------------------------------------------------------------


def recovery_emails_resend(*, email_ids: Sequence[int], now: datetime) -> int:
    """Queue failed emails for one more attempt at the next run (the claim re-checks the cart and the opt-out).
    Returns how many were queued."""
    return RecoveryEmail.objects.filter(pk__in=list(email_ids), status=RecoveryEmail.Status.FAILED).update(
        status=RecoveryEmail.Status.PENDING, next_attempt_at=now
    )


# --- Phase 1: plan ----------------------------------------------------------------------------------------------


def _steps_by_delay() -> list[tuple[int, timedelta]]:
    """[(step number from 1, delay)] in order of delay."""
    steps = [(number, timedelta(seconds=delay)) for number, delay in enumerate(settings.CART_RECOVERY_EMAIL_STEPS, 1)]
    return sorted(steps, key=lambda step: (step[1], step[0]))


def _insert_from_select(carts, *, step: int, delay: timedelta, status: str, note: str, now: datetime) -> int:
    """INSERT the (cart, step) rows for ``carts`` unless they exist. One statement, whatever the number of carts."""
    planned_at = ExpressionWrapper(F("abandoned_at") + Value(delay), output_field=DateTimeField())
    rows = (
        carts.filter(~Exists(RecoveryEmail.objects.filter(cart=OuterRef("pk"), step=step)))
        .order_by("pk")  # the same insert order in every process, so two planners never deadlock
        .annotate(
            r_step=Value(step, output_field=IntegerField()),
            r_status=Value(status, output_field=CharFieldType()),
            r_planned=planned_at,
            r_next=planned_at,
            r_attempts=Value(0, output_field=IntegerField()),
            r_error=Value(note, output_field=CharFieldType()),
            r_created=Value(now, output_field=DateTimeField()),
        )
        .values_list("pk", "r_step", "r_status", "r_planned", "r_next", "r_attempts", "r_error", "r_created")
    )
    select_sql, params = rows.query.sql_with_params()
    meta = RecoveryEmail._meta
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(meta.get_field(name).column)
        for name in (
            "cart",
            "step",
            "status",
            "planned_at",
            "next_attempt_at",
            "attempts",
            "last_error",
            "created_at",
        )
    )
    conflict = ", ".join(quote(meta.get_field(name).column) for name in ("cart", "step"))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) {select_sql} ON CONFLICT ({conflict}) DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def plan_due_recovery_emails(*, now: datetime) -> tuple[int, int]:
    """Phase 1: create the rows of the latest due step of every emailable cart. Returns (planned, skipped)."""
    steps = _steps_by_delay()
    if not steps:
        return 0, 0
    horizon = now - (steps[-1][1] + PLAN_HORIZON)
    carts = Cart.objects.filter(EMAILABLE_CART, abandoned_at__gt=horizon)
    planned = skipped = 0
    for index, (step, delay) in enumerate(steps):
        due = carts.filter(abandoned_at__lte=now - delay)
        if index + 1 < len(steps):
            later_due = Q(abandoned_at__lte=now - steps[index + 1][1])
            # A later step is due as well: this one is skipped, and one planned but never tried gives way too
            # (rows already tried are retries or a staff "resend", which go out as asked).
            RecoveryEmail.objects.filter(
                status=RecoveryEmail.Status.PENDING, attempts=0, step=step, cart__in=due.filter(later_due).values("pk")
            ).update(status=RecoveryEmail.Status.CANCELLED, last_error=SKIPPED_NOTE)
            skipped += _insert_from_select(
                due.filter(later_due),
                step=step,
                delay=delay,
                status=RecoveryEmail.Status.CANCELLED,
                note=SKIPPED_NOTE,
                now=now,
            )
            due = due.exclude(later_due)
        planned += _insert_from_select(
            due, step=step, delay=delay, status=RecoveryEmail.Status.PENDING, note="", now=now
        )
    return planned, skipped


# --- Phase 2: claim ----------------------------------------------------------------------------------------------


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


# --- Phase 3: send -----------------------------------------------------------------------------------------------


def format_money(amount: Decimal) -> str:
    return f"{amount:.2f} {settings.CART_CURRENCY}"


def build_recovery_message(email: RecoveryEmail, *, templates=None) -> EmailMultiAlternatives:
    """The reminder for one RecoveryEmail (its cart, lines and user already loaded): text and HTML parts, a
    recovery link, an unsubscribe link and the List-Unsubscribe headers (RFC 2369 / RFC 8058 one-click)."""
    text_template, html_template = templates or (
        get_template("emails/recovery_email.txt"),
        get_template("emails/recovery_email.html"),
    )
    cart = email.cart
    user = cart.user
    unsubscribe = unsubscribe_url(user_id=user.pk)
    context = {
        "name": user.name,
        "step": email.step,
        "lines": [
            {
                "name": line.item.name,
                "quantity": line.quantity,
                "unit_price": format_money(line.unit_price),
                "line_total": format_money(line.line_total),
            }
            for line in cart.lines.all()
        ],
        "total": format_money(cart.total),
        "recovery_url": recovery_url(cart_id=cart.pk, email_id=email.pk),
        "unsubscribe_url": unsubscribe,
        "link_days": max(1, settings.CART_RECOVERY_LINK_MAX_AGE_SECONDS // 86_400),
    }
    message = EmailMultiAlternatives(
        subject=SUBJECTS.get(email.step, LATER_SUBJECT),
        body=text_template.render(context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Cart-Recovery": f"cart={cart.pk}; step={email.step}",
        },
    )
    message.attach_alternative(html_template.render(context), "text/html")
    return message


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
    templates = (get_template("emails/recovery_email.txt"), get_template("emails/recovery_email.html"))
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
        # Keyed on this claim (claimed_at): a row staff re-queued and another process claimed is not touched.
        result.sent += RecoveryEmail.objects.filter(pk__in=sent_ids, claimed_at=claimed_at).update(
            status=RecoveryEmail.Status.SENT, sent_at=finished, last_error="", next_attempt_at=None
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
