"""Delivering the outbox: a webhooks run (the scheduler's job every CART_WEBHOOKS_INTERVAL_SECONDS, or
``manage.py deliver_webhooks``), and staff's replay of one delivery.

:func:`deliver_due_webhooks` does, in order:

1. **Fan out**: each event not fanned out yet gets one ``Delivery`` per active endpoint subscribed to its type, each
   with its own ``webhook-id`` (``msg_…``), due now. Events are taken in batches ``FOR UPDATE SKIP LOCKED`` and
   (event, endpoint) is unique, so two runs at once never create a delivery twice.
2. **Take back the stuck**: a delivery left ``delivering`` for :data:`STUCK_AFTER` belongs to a process that
   died mid-send; it is due again now. The receiver may already have it, which at-least-once allows: it
   deduplicates on ``webhook-id``. Deliveries still pending :data:`RETRY_WINDOW` after they were created (their
   endpoint was inactive, or kept failing) are marked ``failed``.
3. **Claim** (one short transaction per batch): ``SELECT … FOR UPDATE SKIP LOCKED`` due pending deliveries of
   active endpoints (from the (status, next_attempt_at) index), then one conditional UPDATE takes them to
   ``delivering`` under a fresh claim id. A second scheduler skips the locked rows on PostgreSQL; on SQLite every
   write transaction is serialised (``IMMEDIATE``) and the UPDATE re-checks the status.
4. **Send** outside any transaction, one delivery at a time, signed (webhooks/signing.py) and through the SSRF-safe
   sender (webhooks/transport.py); then record the ``Attempt`` and the outcome *against the claim*, so a process
   whose claim was taken over cannot overwrite a newer outcome. A 2xx answer is ``delivered``; anything else is
   retried after 30 s, 1 min, 2 min, … (doubling, capped at 2 h) until :data:`RETRY_WINDOW` after the delivery was
   created, then ``failed``.

Two rules keep one receiver from holding up the others: once an endpoint fails in a run, its other deliveries wait
for the next run untried (so a receiver that times out costs one timeout per run, not one per event); and a
process that has held a claim for :data:`RELEASE_AFTER` hands its untried deliveries back, so a claim never grows
old enough to be taken for stuck while its holder is still sending.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F

from core.db import one_or_none
from core.errors import Conflict, NotFound

from .addresses import private_addresses_allowed, scheme_problem
from .models import Attempt, Delivery, Endpoint, Event
from .signing import InvalidSecret, signed_headers
from .transport import DeliveryOutcome, deliver

logger = logging.getLogger(__name__)

RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=2)
RETRY_WINDOW = timedelta(hours=24)
# Longer than a whole batch can take: each send is bounded by the transport's timeouts (about 16 s at worst).
STUCK_AFTER = timedelta(minutes=10)
RELEASE_AFTER = STUCK_AFTER / 2
DEFAULT_BATCH_SIZE = 20
FAN_OUT_BATCH_SIZE = 500
# Deliveries handed back in a run are due again just after the run's ``now``: not in this run, at the next.
DEFER_BY = timedelta(seconds=1)

STUCK_NOTE = "Interrupted while delivering (the delivering process stopped); retried. The receiver may have it."
EXPIRED_NOTE = "Not delivered within 24 hours of the event; the attempts below show why."


@dataclass
class DeliveryRunResult:
    """What one run did. ``deferred`` counts deliveries handed back untried (see the module docstring)."""

    events: int = 0
    created: int = 0
    stuck: int = 0
    expired: int = 0
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    deferred: int = 0
    seconds: float = 0.0


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


# --- the body ---------------------------------------------------------------------------------------------------


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_payload(event: Event) -> dict:
    """The JSON body of an event, as a receiver gets it (``total`` as a decimal string, like the API's money)."""
    return {
        "type": event.type,
        "timestamp": _timestamp(event.occurred_at),
        "data": {
            "cart_id": event.cart_id,
            "user_id": event.user_id,
            "email": event.email,
            "status": event.status,
            "item_count": event.item_count,
            "total": f"{event.total:.2f}",
            "step": event.step,
            "coupon": event.coupon,
        },
    }


def event_body(event: Event) -> bytes:
    """The exact bytes sent and signed; the same on every retry."""
    return json.dumps(event_payload(event), ensure_ascii=False, separators=(",", ":")).encode()


# --- fan-out, stuck and expired deliveries ----------------------------------------------------------------------------


def fan_out_events(*, now: datetime, batch_size: int = FAN_OUT_BATCH_SIZE) -> tuple[int, int]:
    """Create the deliveries of every event not fanned out yet. Returns (events, deliveries created)."""
    events_seen = created = 0
    waiting = Event.objects.filter(fanned_out_at__isnull=True)
    while waiting.exists():  # a plain read first: an idle run takes no write lock (SQLite has one for everyone)
        with transaction.atomic():
            events = list(
                Event.objects.select_for_update(skip_locked=True)
                .filter(fanned_out_at__isnull=True)
                .order_by("id")
                .values_list("pk", "type")[:batch_size]
            )
            if not events:
                return events_seen, created
            endpoints = list(Endpoint.objects.filter(active=True).order_by("pk"))
            deliveries = [
                Delivery(
                    event_id=event_id,
                    endpoint_id=endpoint.pk,
                    webhook_id=new_webhook_id(),
                    status=Delivery.Status.PENDING,
                    created_at=now,
                    next_attempt_at=now,
                )
                for event_id, event_type in events
                for endpoint in endpoints
                if endpoint.subscribes_to(event_type)
            ]
            # (event, endpoint) is unique: should two runs ever fan out one event, the second insert is a no-op.
            Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
            Event.objects.filter(pk__in=[pk for pk, _ in events], fanned_out_at__isnull=True).update(fanned_out_at=now)
        events_seen += len(events)
        created += len(deliveries)
    return events_seen, created


def _retry_stuck(*, now: datetime) -> int:
    stuck = Delivery.objects.filter(status=Delivery.Status.DELIVERING, claimed_at__lt=now - STUCK_AFTER)
    if not stuck.exists():
        return 0
    return stuck.update(
        status=Delivery.Status.PENDING,
        claim=None,
        next_attempt_at=now,
        attempts=F("attempts") + 1,
        last_error=STUCK_NOTE,
    )


def _expire(*, now: datetime) -> int:
    expired = Delivery.objects.filter(status=Delivery.Status.PENDING, created_at__lt=now - RETRY_WINDOW)
    if not expired.exists():
        return 0
    return expired.update(status=Delivery.Status.FAILED, next_attempt_at=None, last_error=EXPIRED_NOTE)


def due_deliveries(*, now: datetime):
    """Pending deliveries of active endpoints due at ``now`` (what a run would try first)."""
    return Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__active=True)


def would_deliver(*, now: datetime) -> dict[str, int]:
    """What a run at ``now`` would start with, changing nothing (``deliver_webhooks --dry-run``)."""
    return {
        "events": Event.objects.filter(fanned_out_at__isnull=True).count(),
        "due": due_deliveries(now=now).count(),
        "stuck": Delivery.objects.filter(status=Delivery.Status.DELIVERING, claimed_at__lt=now - STUCK_AFTER).count(),
    }


# --- claim, send, record --------------------------------------------------------------------------------------------


def _claim_batch(*, now: datetime, claimed_at: datetime, batch_size: int) -> tuple[list[int], uuid.UUID]:
    claim = uuid.uuid4()
    if not due_deliveries(now=now).exists():
        return [], claim
    with transaction.atomic():
        ids = list(
            due_deliveries(now=now)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return [], claim
        # Conditional on the status: on SQLite (no row locks) a row another process took meanwhile is not taken.
        taken = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.DELIVERING, claim=claim, claimed_at=claimed_at
        )
    return (ids if taken else []), claim


def _retry_delay(attempts: int) -> timedelta:
    return min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_CAP)


def _attempt(delivery: Delivery, *, at: datetime) -> DeliveryOutcome:
    """POST the delivery once, signed with a timestamp of ``at``."""
    endpoint = delivery.endpoint
    problem = scheme_problem(endpoint.url)
    if problem:
        return DeliveryOutcome(status_code=None, latency_ms=0, response_excerpt="", error=problem)
    body = event_body(delivery.event)
    try:
        headers = signed_headers(
            secret=endpoint.secret, msg_id=delivery.webhook_id, timestamp=int(at.timestamp()), body=body
        )
    except InvalidSecret as exc:
        return DeliveryOutcome(status_code=None, latency_ms=0, response_excerpt="", error=f"cannot sign: {exc}")
    return deliver(url=endpoint.url, body=body, headers=headers, allow_private=private_addresses_allowed())


def _record_outcome(
    delivery: Delivery,
    *,
    claim: uuid.UUID,
    outcome: DeliveryOutcome,
    attempted_at: datetime,
    replay: bool = False,
    give_up_on_failure: bool = False,
) -> str | None:
    """Log the attempt and move the delivery on, against ``claim``. Returns the new status, or None when the claim
    was lost (the attempt is logged all the same: it happened) or the delivery is gone (its endpoint was deleted)."""
    finished_at = attempted_at + timedelta(milliseconds=outcome.latency_ms)
    attempts = delivery.attempts + 1
    if outcome.ok:
        changes = {"status": Delivery.Status.DELIVERED, "delivered_at": finished_at, "next_attempt_at": None}
    else:
        retry_at = finished_at + _retry_delay(attempts)
        if give_up_on_failure or retry_at > delivery.created_at + RETRY_WINDOW:
            changes = {"status": Delivery.Status.FAILED, "next_attempt_at": None}
        else:
            changes = {"status": Delivery.Status.PENDING, "next_attempt_at": retry_at}
    try:
        with transaction.atomic():
            updated = Delivery.objects.filter(pk=delivery.pk, claim=claim, status=Delivery.Status.DELIVERING).update(
                attempts=F("attempts") + 1,
                claim=None,
                last_status_code=outcome.status_code,
                last_error=outcome.error,
                **changes,
            )
            if not updated and not Delivery.objects.filter(pk=delivery.pk).exists():
                return None
            Attempt.objects.create(
                delivery_id=delivery.pk,
                attempted_at=attempted_at,
                status_code=outcome.status_code,
                latency_ms=outcome.latency_ms,
                response_excerpt=outcome.response_excerpt,
                error=outcome.error,
                replay=replay,
            )
    except IntegrityError:  # deleted with its endpoint between the check and the commit
        return None
    return changes["status"] if updated else None


def _send_batch(
    ids: list[int], *, claim: uuid.UUID, claimed_at: datetime, now: datetime, clock, failing: set[int], result
) -> None:
    deliveries = list(
        Delivery.objects.filter(pk__in=ids, claim=claim, status=Delivery.Status.DELIVERING)
        .select_related("event", "endpoint")
        .order_by("next_attempt_at", "id")
    )
    result.claimed += len(deliveries)
    deferred: list[int] = []
    for delivery in deliveries:
        if delivery.endpoint_id in failing or clock() - claimed_at > RELEASE_AFTER:
            deferred.append(delivery.pk)
            continue
        attempted_at = clock()
        outcome = _attempt(delivery, at=attempted_at)
        status = _record_outcome(delivery, claim=claim, outcome=outcome, attempted_at=attempted_at)
        if not outcome.ok:
            failing.add(delivery.endpoint_id)
            logger.warning(
                "webhook %s to endpoint %d failed: %s", delivery.webhook_id, delivery.endpoint_id, outcome.error
            )
        if status == Delivery.Status.DELIVERED:
            result.delivered += 1
        elif status == Delivery.Status.PENDING:
            result.retrying += 1
        elif status == Delivery.Status.FAILED:
            result.failed += 1
    if deferred:
        result.deferred += Delivery.objects.filter(pk__in=deferred, claim=claim).update(
            status=Delivery.Status.PENDING, claim=None, next_attempt_at=now + DEFER_BY
        )


def deliver_due_webhooks(*, now: datetime, batch_size: int = DEFAULT_BATCH_SIZE) -> DeliveryRunResult:
    """Fan out new events, then send every delivery due at ``now`` (see the module docstring). Safe to run in
    several processes at once: each attempt is made by one of them.

    ``now`` decides what is due; claims, attempts and the signatures' timestamps use ``now`` plus the time this call
    has been running."""
    started = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    result = DeliveryRunResult()
    result.events, result.created = fan_out_events(now=now)
    result.stuck = _retry_stuck(now=now)
    result.expired = _expire(now=now)
    failing: set[int] = set()
    while True:
        claimed_at = clock()
        ids, claim = _claim_batch(now=now, claimed_at=claimed_at, batch_size=batch_size)
        if not ids:
            break
        _send_batch(ids, claim=claim, claimed_at=claimed_at, now=now, clock=clock, failing=failing, result=result)
    result.seconds = time.monotonic() - started
    if result.events or result.claimed or result.stuck or result.expired:
        logger.info(
            "webhooks: %d events fanned out (%d deliveries), %d delivered, %d to retry, %d failed, %d deferred, "
            "%d stuck taken back, %d expired (%.2f s)",
            result.events,
            result.created,
            result.delivered,
            result.retrying,
            result.failed,
            result.deferred,
            result.stuck,
            result.expired,
            result.seconds,
        )
    return result


# --- replay -----------------------------------------------------------------------------------------------------


def delivery_replay(*, delivery_id: int, now: datetime) -> Delivery:
    """Send a delivery once more, now, with its own ``webhook-id`` (staff's replay). The attempt is logged like any
    other; a delivery that had finished (delivered or failed) ends ``delivered`` or ``failed`` by this attempt,
    with no automatic retries, and a pending one goes on with its retries if this attempt fails.

    Raises NotFound for an unknown delivery and Conflict while it is being delivered or its endpoint is inactive."""
    claim = uuid.uuid4()
    with transaction.atomic():
        delivery = one_or_none(
            Delivery.objects.select_for_update(of=("self",)).select_related("event", "endpoint").filter(pk=delivery_id)
        )
        if delivery is None:
            raise NotFound("Delivery not found.")
        if delivery.status == Delivery.Status.DELIVERING:
            raise Conflict("This delivery is being sent right now; look again in a moment.")
        if not delivery.endpoint.active:
            raise Conflict("The endpoint is inactive: activate it to replay its deliveries.")
        was_finished = delivery.status in Delivery.FINISHED_STATUSES
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.DELIVERING, claim=claim, claimed_at=now)
    outcome = _attempt(delivery, at=now)
    _record_outcome(
        delivery, claim=claim, outcome=outcome, attempted_at=now, replay=True, give_up_on_failure=was_finished
    )
    logger.info("webhook %s replayed: %s", delivery.webhook_id, outcome.error or outcome.status_code)
    delivery.refresh_from_db()
    return delivery
