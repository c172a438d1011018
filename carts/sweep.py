"""The abandonment sweep: mark carts left untouched too long as abandoned, and log each cart's first abandonment.

The rule (``stale_carts``) reads as the contract says it: an ``active`` cart, holding at least one unit, whose
``last_updated`` is older than ``CART_ABANDON_AFTER_SECONDS``. "Holds at least one unit" is ``item_count > 0``, the
denormalised twin of "EXISTS a line": every service that changes a line recomputes ``item_count`` in the same
transaction, under the cart's row lock, so the two never disagree in committed data, and the cart row alone answers
the question (no semi-join per candidate on a million carts). The log snapshots the same two columns.

How the work is done, and why it is safe:

* Set-based, in batches of ``CART_SWEEP_BATCH_SIZE`` carts, each batch its own short transaction, so a shopper's
  write never waits for more than one batch. No list of all ids is ever held: memory stays flat whatever N is.
* Each batch picks the oldest candidates with ``FOR NO KEY UPDATE SKIP LOCKED`` (PostgreSQL), so two sweeps running
  at once (two scheduler processes, two machines) take disjoint sets, and a cart a shopper has locked is left to the
  shopper. On SQLite ``transaction_mode=IMMEDIATE`` serialises writers, which gives the same result.
* The UPDATE re-checks the whole rule in its own WHERE clause, so a cart touched or checked out since it was picked
  is never marked; ``RETURNING`` says exactly which carts this batch changed, and only those get a log. The log insert
  is ``ON CONFLICT (cart_id) DO NOTHING``: a cart abandoned a second time keeps its first log.
* On PostgreSQL a batch is one statement (pick, update, log as data-modifying CTEs); on SQLite it is two (UPDATE ...
  RETURNING, then INSERT ... SELECT over the returned ids passed as one JSON array).
* Batches walk the candidates in a fixed order and each starts where the previous one ended (keyset), so no batch
  re-reads rows or index entries the earlier batches already turned over (on PostgreSQL those stay behind as dead
  entries until VACUUM). Rows skipped because another transaction held them are left to that transaction: another
  sweep marks them, or a shopper has just touched them; if that transaction rolls back, the next sweep gets them.
* The order depends on how much there is to do, found by a bounded count before the first batch. Usually (a sweep
  every few minutes) few carts are stale: they are found through the (status, last_updated) index, oldest first.
  After an outage, or on the first run over an imported shop, most carts may be stale ("catch-up"): the batches then
  walk the table in primary-key order, so each batch updates neighbouring rows and index entries instead of rows
  scattered over the whole table. Measured on 900,000 stale carts among 1,000,000 (docs/benchmarks.md), the
  scattered order was about three times slower on both databases.

When a webhook endpoint subscribes to ``cart.abandoned`` (checked once per sweep), each batch also writes one outbox
event per cart it marked, in the same transaction (webhooks/outbox.py): one more CTE on PostgreSQL, one more
INSERT ... SELECT over the same ids on SQLite. Exactly the carts the UPDATE changed get one.

The cutoff is computed once, from ``now``, so a cart cannot become stale while a sweep runs, and a cart touched during
the sweep (its ``last_updated`` moves past the cutoff) fails the rule in every later batch.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from core.sql import select_sql, where_sql
from users.models import User
from webhooks.models import Event
from webhooks.outbox import insert_events_sql, wanted

from .figures import FigureChanges, bucket_of
from .models import AbandonmentLog, Cart

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did. ``marked`` counts carts moved to ``abandoned``; ``logged`` those abandoned for the first
    time (the rest had been abandoned before, came back, and keep their first log). A dry run only fills
    ``would_mark``."""

    marked: int = 0
    logged: int = 0
    batches: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    would_mark: int = 0


def abandon_cutoff(*, now: datetime, older_than_seconds: int | None = None) -> datetime:
    """The instant before which an untouched cart counts as abandoned."""
    seconds = settings.CART_ABANDON_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    if seconds < 0:
        raise ValueError("older_than_seconds must not be negative")
    return now - timedelta(seconds=seconds)


def stale_carts_q(*, cutoff: datetime) -> Q:
    """The rule, as a Q: active, holding at least one unit, untouched since before ``cutoff`` (strictly)."""
    return Q(status=Cart.Status.ACTIVE, item_count__gt=0, last_updated__lt=cutoff)


def stale_carts(*, now: datetime, older_than_seconds: int | None = None) -> QuerySet[Cart]:
    """Carts the sweep would mark abandoned at ``now``."""
    return Cart.objects.filter(stale_carts_q(cutoff=abandon_cutoff(now=now, older_than_seconds=older_than_seconds)))


def sweep_abandoned_carts(
    *,
    now: datetime,
    older_than_seconds: int | None = None,
    batch_size: int | None = None,
    dry_run: bool = False,
) -> SweepResult:
    """Mark every stale cart abandoned at ``now`` and write its AbandonmentLog (first abandonment only).

    Safe to run while shoppers write and while another sweep runs (see the module docstring). ``dry_run`` changes
    nothing and reports how many carts would be marked.
    """
    started = time.perf_counter()
    cutoff = abandon_cutoff(now=now, older_than_seconds=older_than_seconds)
    if dry_run:
        would_mark = Cart.objects.filter(stale_carts_q(cutoff=cutoff)).count()
        seconds = time.perf_counter() - started
        logger.info("sweep (dry run): %d carts would be marked abandoned (cutoff %s)", would_mark, cutoff.isoformat())
        return SweepResult(dry_run=True, would_mark=would_mark, seconds=seconds)

    batch_size = batch_size or settings.CART_SWEEP_BATCH_SIZE
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    catch_up = _is_catch_up(cutoff=cutoff, batch_size=batch_size)
    order_by = "id" if catch_up else "last_updated"
    # Inside a caller's transaction the other connections could not see its data: one worker then.
    parallel = catch_up and connection.vendor == "postgresql" and not connection.in_atomic_block
    workers = settings.CART_SWEEP_WORKERS if parallel else 1
    events = wanted(Event.Type.CART_ABANDONED)
    if workers > 1:
        # A large backlog on PostgreSQL: several connections sweep at once. This is the "two sweeps at once" case
        # the design already makes safe (SKIP LOCKED picks, re-checked UPDATE); they split the carts between them.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            loops = list(
                pool.map(
                    lambda _: _in_own_connection(
                        _sweep_loop, now=now, cutoff=cutoff, order_by=order_by, batch_size=batch_size, events=events
                    ),
                    range(workers),
                )
            )
        marked, logged, batches = (sum(loop[i] for loop in loops) for i in range(3))
    else:
        with _sqlite_bulk_write_settings(enabled=catch_up):
            marked, logged, batches = _sweep_loop(
                now=now, cutoff=cutoff, order_by=order_by, batch_size=batch_size, events=events
            )
    seconds = time.perf_counter() - started
    logger.info(
        "sweep: %d carts marked abandoned (%d first abandonments) in %d batches, %.3f s (cutoff %s, %s)",
        marked,
        logged,
        batches,
        seconds,
        cutoff.isoformat(),
        "catch-up in id order" if order_by == "id" else "oldest first",
    )
    return SweepResult(marked=marked, logged=logged, batches=batches, seconds=seconds)


def _sweep_loop(
    *, now: datetime, cutoff: datetime, order_by: str, batch_size: int, events: bool
) -> tuple[int, int, int]:
    """Mark batch after batch until one marks nothing. Returns (marked, logged, batches)."""
    marked = logged = batches = 0
    after: datetime | int | None = None
    while True:
        with transaction.atomic():
            batch = _mark_batch(
                now=now, cutoff=cutoff, order_by=order_by, after=after, batch_size=batch_size, events=events
            )
        # A batch that marks nothing ends the sweep. Checking ``marked`` rather than ``picked`` also ends it
        # should picked carts ever all fail the UPDATE's re-check, instead of picking them again forever.
        if batch.marked == 0:
            return marked, logged, batches
        batches += 1
        marked += batch.marked
        logged += batch.logged
        after = batch.last_seen


def _in_own_connection(function, **kwargs):
    """Run ``function`` in a worker thread (Django gives each thread its own connection) and close that
    connection afterwards."""
    try:
        return function(**kwargs)
    finally:
        connection.close()


# Catch-up order (primary key) when at least this many batches' worth of carts are stale.
CATCH_UP_BATCHES = 10
# SQLite during a catch-up: a page cache that holds the indexes the batches keep rewriting (128 MB; the default is
# 2 MB, which re-reads them for every batch), and a checkpoint every 128 MB of WAL instead of every 4 MB, so a hot
# index page is copied back to the database file once per many batches rather than after each one.
SQLITE_CATCH_UP_CACHE_KIB = 131_072
SQLITE_CATCH_UP_CHECKPOINT_PAGES = 32_768


@contextmanager
def _sqlite_bulk_write_settings(*, enabled: bool) -> Iterator[None]:
    """Raise SQLite's page cache and WAL checkpoint interval for this connection while a catch-up runs, then put them
    back (they are per-connection settings; nothing else is changed)."""
    if not enabled or connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (cache_size,) = cursor.fetchone()
        cursor.execute("PRAGMA wal_autocheckpoint")
        (checkpoint_pages,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CATCH_UP_CACHE_KIB:d}")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_CATCH_UP_CHECKPOINT_PAGES:d}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(cache_size):d}")
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint_pages):d}")


@dataclass(frozen=True)
class _Batch:
    marked: int
    logged: int
    last_seen: datetime | int | None


def _is_catch_up(*, cutoff: datetime, batch_size: int) -> bool:
    """True when many carts are stale; the count stops at the threshold, so it stays cheap whatever N is."""
    threshold = batch_size * CATCH_UP_BATCHES
    return Cart.objects.filter(stale_carts_q(cutoff=cutoff)).order_by()[:threshold].count() >= threshold


def _candidates(*, cutoff: datetime, order_by: str, after: datetime | int | None, batch_size: int) -> QuerySet:
    """The next batch of candidates in ``order_by`` order ("last_updated": oldest first, through the index; "id":
    table order), starting after the previous batch, locked, skipping locked rows: (id, last_updated, abandoned_at)."""
    candidates = Cart.objects.filter(stale_carts_q(cutoff=cutoff))
    if after is not None:
        # Equal last_updated values may straddle two batches, hence >=; the rows already marked fail the rule.
        candidates = candidates.filter(**({"id__gt": after} if order_by == "id" else {"last_updated__gte": after}))
    return (
        candidates.order_by(order_by)
        .select_for_update(skip_locked=True, no_key=True)
        .values_list("id", "last_updated", "abandoned_at")[:batch_size]
    )


def _record_figures(*, now: datetime, marked: list[tuple[str, int, Decimal]], again: list[tuple[str, object]]) -> None:
    """The report's figures for a batch (carts/figures.py): ``marked`` is (group, carts, their total) of the carts
    the batch abandoned; ``again`` is (group, previous abandoned_at) of those that had been abandoned before and had
    come back: they leave their old bucket."""
    changes = FigureChanges()
    bucket = bucket_of(now)
    for group, count, total in marked:
        changes.add_counts(bucket=bucket, group=group, abandoned=count, still_abandoned=count, revenue_left=total)
    for group, previous in again:
        changes.add_counts(bucket=bucket_of(_as_datetime(previous)), group=group, abandoned=-1, came_back=-1)
    changes.apply()


def _mark_batch(
    *, now: datetime, cutoff: datetime, order_by: str, after: datetime | int | None, batch_size: int, events: bool
) -> _Batch:
    """Pick, mark and log one batch, count it in the report's figures, and write the outbox events of the marked
    carts when ``events``. Must run inside a transaction. ``last_seen`` is where the next batch starts."""
    qn = connection.ops.quote_name
    cart_table, log_table = qn(Cart._meta.db_table), qn(AbandonmentLog._meta.db_table)
    user_table = qn(User._meta.db_table)
    candidates = _candidates(cutoff=cutoff, order_by=order_by, after=after, batch_size=batch_size)
    rule_sql, rule_params = where_sql(Cart.objects.filter(stale_carts_q(cutoff=cutoff)))
    abandoned_at = connection.ops.adapt_datetimefield_value(now)
    status = Cart.Status.ABANDONED.value
    event_params = (Event.Type.CART_ABANDONED.value, abandoned_at, status)
    # The SQL below is assembled from the model's table names and ORM-compiled fragments; every value is a parameter.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            candidates_sql, candidates_params = select_sql(candidates)
            events_cte = ""
            if events:
                event_rows = (
                    "SELECT %s, %s, marked.id, marked.user_id, COALESCE(u.email, ''), %s, marked.item_count, "  # noqa: S608
                    f"marked.total, NULL, NULL FROM marked LEFT JOIN {user_table} u ON u.id = marked.user_id"
                )
                events_cte = f",\n                evented AS ({insert_events_sql(select_sql=event_rows)})"
            # One statement: pick, mark, log (and the events); it answers one row per recovery group of the marked
            # carts, plus one row per cart abandoned before (it leaves its old bucket), each with the batch's counts.
            cursor.execute(
                f"""
                WITH picked (id, last_updated, previously_abandoned_at) AS ({candidates_sql}),
                marked AS (
                    UPDATE {cart_table} SET status = %s, abandoned_at = %s
                    WHERE id IN (SELECT id FROM picked) AND {rule_sql}
                    RETURNING id, user_id, item_count, total, recovery_group
                ),
                logged AS (
                    INSERT INTO {log_table} (cart_id, abandoned_at, item_count, total)
                    SELECT id, %s, item_count, total FROM marked
                    ON CONFLICT (cart_id) DO NOTHING
                    RETURNING cart_id
                ){events_cte},
                stats AS (
                    SELECT (SELECT count(*) FROM logged) AS logged,
                           (SELECT max({qn(order_by)}) FROM picked) AS last_seen
                )
                SELECT 'marked', recovery_group, count(*), sum(total), NULL::timestamptz, stats.logged, stats.last_seen
                  FROM marked, stats GROUP BY recovery_group, stats.logged, stats.last_seen
                UNION ALL
                SELECT 'again', marked.recovery_group, 1, NULL, picked.previously_abandoned_at, stats.logged,
                       stats.last_seen
                  FROM marked JOIN picked USING (id), stats WHERE picked.previously_abandoned_at IS NOT NULL
                """,  # noqa: S608
                (
                    *candidates_params,
                    status,
                    abandoned_at,
                    *rule_params,
                    abandoned_at,
                    *(event_params if events else ()),
                ),
            )
            rows = cursor.fetchall()
            if not rows:
                return _Batch(marked=0, logged=0, last_seen=None)
            marked_rows = [(group, count, total) for kind, group, count, total, *_ in rows if kind == "marked"]
            again = [(group, previous) for kind, group, _, _, previous, *_ in rows if kind == "again"]
            _record_figures(now=now, marked=marked_rows, again=again)
            return _Batch(marked=sum(count for _, count, _ in marked_rows), logged=rows[0][5], last_seen=rows[0][6])

        # SQLite (and any other backend with UPDATE ... RETURNING): the transaction holds the write lock from its
        # first statement (IMMEDIATE), so nothing can change the picked carts between these statements.
        picked = {cart_id: previous for cart_id, _, previous in candidates}
        if not picked:
            return _Batch(marked=0, logged=0, last_seen=None)
        ids = json.dumps(list(picked))
        cursor.execute(
            f"""
            UPDATE {cart_table} SET status = %s, abandoned_at = %s
            WHERE id IN (SELECT value FROM json_each(%s)) AND {rule_sql}
            RETURNING id, last_updated, total, recovery_group
            """,  # noqa: S608
            (status, abandoned_at, ids, *rule_params),
        )
        rows = cursor.fetchall()
        if not rows:
            return _Batch(marked=0, logged=0, last_seen=None)
        cursor.execute(
            f"""
            INSERT INTO {log_table} (cart_id, abandoned_at, item_count, total)
            SELECT id, %s, item_count, total FROM {cart_table}
            WHERE id IN (SELECT value FROM json_each(%s))
            ON CONFLICT (cart_id) DO NOTHING
            """,  # noqa: S608
            (abandoned_at, json.dumps([row[0] for row in rows])),
        )
        logged = cursor.rowcount
        if events:
            cursor.execute(
                insert_events_sql(
                    select_sql=f"""
                    SELECT %s, %s, c.id, c.user_id, COALESCE(u.email, ''), %s, c.item_count, c.total, NULL, NULL
                    FROM {cart_table} c LEFT JOIN {user_table} u ON u.id = c.user_id
                    WHERE c.id IN (SELECT value FROM json_each(%s))
                    """  # noqa: S608
                ),
                (*event_params, json.dumps([row[0] for row in rows])),
            )
    by_group: dict[str, list] = {}
    for _, _, total, group in rows:
        entry = by_group.setdefault(group, [0, Decimal("0.00")])
        entry[0] += 1
        entry[1] += Decimal(str(total))
    again = [(group, picked[cart_id]) for cart_id, _, _, group in rows if picked[cart_id] is not None]
    _record_figures(now=now, marked=[(group, n, total) for group, (n, total) in by_group.items()], again=again)
    last_seen = max(row[0] for row in rows) if order_by == "id" else _as_datetime(max(row[1] for row in rows))
    return _Batch(marked=len(rows), logged=logged, last_seen=last_seen)


def _as_datetime(value: datetime | str) -> datetime:
    """SQLite's RETURNING gives the stored value without Django's conversion: naive UTC (text or datetime)."""
    parsed = value if isinstance(value, datetime) else parse_datetime(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
