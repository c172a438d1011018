"""Retention: the cart tables stay bounded.

- Empty carts that were never abandoned, untouched for CART_EMPTY_CART_MAX_AGE_SECONDS, hold nothing worth keeping.
- Checked-out carts older than CART_RETENTION_DAYS go with their lines, log and emails (0 days keeps them forever).
  Open carts (active or abandoned) are never deleted: a shopper has at most one, and it may still come back.

Each batch is one short transaction whose DELETE re-checks the rule, so a cart a shopper touches meanwhile stays.
Before the carts go, their part of the report's figures moves to the "pruned" rows (carts/figures.py), and the apps
built on carts are told (``carts_pruning``), so the report's history stays exact after pruning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from . import figures
from .models import Cart
from .signals import carts_pruning

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PruneResult:
    empty_carts: int
    expired_carts: int
    dry_run: bool


def stale_empty_carts(*, now: datetime) -> Q:
    cutoff = now - timedelta(seconds=settings.CART_EMPTY_CART_MAX_AGE_SECONDS)
    return Q(status=Cart.Status.ACTIVE, item_count=0, abandoned_at__isnull=True, last_updated__lt=cutoff)


def expired_closed_carts(*, now: datetime) -> Q:
    if settings.CART_RETENTION_DAYS <= 0:
        return Q(pk__in=[])
    cutoff = now - timedelta(days=settings.CART_RETENTION_DAYS)
    return Q(status=Cart.Status.CHECKED_OUT, last_updated__lt=cutoff)


def _delete_in_batches(rule: Q, *, batch_size: int) -> int:
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                Cart.objects.filter(rule).select_for_update(skip_locked=True).values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return deleted
            doomed = Cart.objects.filter(rule, pk__in=ids)
            figures.pruned(doomed)
            carts_pruning.send(sender=Cart, carts=doomed)
            # The rule re-checked in the DELETE. The rows that belong to the carts (lines, log, the recovery app's
            # emails) go with them through their foreign keys' CASCADE: Django's collector deletes each table's rows
            # in one set-based DELETE, so this app needs to know none of the apps built on it.
            count = Cart.objects.filter(rule, pk__in=ids).delete()[1].get(Cart._meta.label, 0)
            deleted += count


def prune_old_carts(*, now: datetime, dry_run: bool = False, batch_size: int | None = None) -> PruneResult:
    """Delete empty stale carts and carts past retention; with ``dry_run`` only count them."""
    batch_size = batch_size or settings.CART_SWEEP_BATCH_SIZE
    empty_rule, expired_rule = stale_empty_carts(now=now), expired_closed_carts(now=now)
    if dry_run:
        return PruneResult(
            empty_carts=Cart.objects.filter(empty_rule).count(),
            expired_carts=Cart.objects.filter(expired_rule).count(),
            dry_run=True,
        )
    result = PruneResult(
        empty_carts=_delete_in_batches(empty_rule, batch_size=batch_size),
        expired_carts=_delete_in_batches(expired_rule, batch_size=batch_size),
        dry_run=False,
    )
    logger.info("pruned %d empty carts and %d carts past retention", result.empty_carts, result.expired_carts)
    return result
