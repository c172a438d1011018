"""Retention: the outbox stays bounded ("tables that grow forever" is a complaint we promise against).

An event older than ``CART_WEBHOOKS_RETENTION_DAYS`` whose deliveries have all finished (delivered or failed) is
deleted with its deliveries and their attempts. Every delivery finishes within a day (webhooks/delivery.py:
``RETRY_WINDOW``), so nothing older than the retention is kept for long; an event not fanned out yet is never
deleted. Batched by primary key, each batch one short transaction whose DELETE re-checks the rule, like the carts'
retention (carts/retention.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from .models import Delivery, Event

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True)
class PruneResult:
    events: int
    dry_run: bool


def prunable_events_q(*, now: datetime) -> Q:
    """Old events, fanned out, with no delivery still pending or being delivered."""
    cutoff = now - timedelta(days=settings.CART_WEBHOOKS_RETENTION_DAYS)
    unfinished = Delivery.objects.filter(event_id=OuterRef("pk")).exclude(status__in=Delivery.FINISHED_STATUSES)
    return Q(occurred_at__lt=cutoff, fanned_out_at__isnull=False) & ~Exists(unfinished)


def prune_webhook_events(*, now: datetime, dry_run: bool = False, batch_size: int = DEFAULT_BATCH_SIZE) -> PruneResult:
    """Delete the events past retention whose deliveries are finished; with ``dry_run`` only count them."""
    rule = prunable_events_q(now=now)
    if dry_run:
        return PruneResult(events=Event.objects.filter(rule).count(), dry_run=True)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                Event.objects.filter(rule)
                .order_by("pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            # Deliveries and attempts go with their event (CASCADE, one set-based DELETE per table).
            deleted += Event.objects.filter(rule, pk__in=ids).delete()[1].get(Event._meta.label, 0)
    logger.info("pruned %d webhook events older than %d days", deleted, settings.CART_WEBHOOKS_RETENTION_DAYS)
    return PruneResult(events=deleted, dry_run=False)
