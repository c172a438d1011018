"""Writing events: the transactional outbox.

Whoever changes a cart writes the event in the same database transaction as the change, through one of these:

- :func:`record_event` for a change made row by row (a checkout, a cart coming back);
- :func:`record_events` for a change made set-based (the emails of a batch marked sent): one
  ``INSERT … SELECT`` over a queryset of the changed rows;
- :func:`insert_events_sql` for a writer that builds its own statement (the sweep adds it to its batch's
  data-modifying CTE on PostgreSQL).

A rolled-back change takes its event with it, and a committed change cannot lose it: there is no second system to
tell after the commit. The delivery job reads the table afterwards (webhooks/delivery.py).

**Only what someone listens to is recorded.** An event is written when at least one *active* endpoint subscribes
to its type (:func:`wanted`); a shop without webhooks pays one small read per change, and neither the sweep nor the
table grows with events nobody receives. An endpoint therefore receives the changes made after it was saved (there
is no history to replay), and a change committed at the very moment an endpoint is created may or may not reach it.
Events are pruned once delivered (webhooks/retention.py), so the table stays bounded.

The data is given by the writer, as it is at the change, in typed columns (``cart_id``, ``user_id``, ``email``,
``status``, ``item_count``, ``total``, ``step``, ``coupon``); the JSON body is built from them when it is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.expressions import BaseExpression

from .models import Endpoint, Event

# The snapshot's columns, in the order insert_events_sql's SELECT gives them (after type and occurred_at).
DATA_COLUMNS = ("cart_id", "user_id", "email", "status", "item_count", "total", "step", "coupon")
OPTIONAL_COLUMNS = ("step", "coupon")


class UnknownEventType(ValueError):
    pass


def _check_type(event_type: str) -> None:
    if event_type not in Event.Type.values:
        raise UnknownEventType(f"unknown event type {event_type!r}; add it to webhooks.models.EventType")


def wanted(event_type: str) -> bool:
    """True when at least one active endpoint subscribes to ``event_type`` (an endpoint with no types takes all).

    One read of the active endpoints' subscriptions: a shop has a handful of endpoints."""
    _check_type(event_type)
    return any(
        not types or event_type in types
        for types in Endpoint.objects.filter(active=True).values_list("event_types", flat=True)
    )


def record_event(
    *,
    type: str,
    occurred_at: datetime,
    cart_id: int,
    user_id: int | None,
    email: str,
    status: str,
    item_count: int,
    total: Decimal,
    step: int | None = None,
    coupon: str | None = None,
) -> bool:
    """Record one event in the caller's transaction if an endpoint wants it; return whether it was recorded."""
    if not wanted(type):
        return False
    Event.objects.create(
        type=type,
        occurred_at=occurred_at,
        cart_id=cart_id,
        user_id=user_id,
        email=email or "",
        status=status,
        item_count=item_count,
        total=total,
        step=step,
        coupon=coupon,
    )
    return True


def record_events(
    *,
    type: str,
    occurred_at: datetime,
    rows: QuerySet,
    columns: Mapping[str, str | BaseExpression],
) -> int:
    """Record one event per row of ``rows`` with a single ``INSERT … SELECT``, if an endpoint wants the type.

    ``columns`` maps each data column to a field path or an expression on ``rows``' model, e.g. for recovery
    emails ``{"cart_id": "cart_id", "email": "cart__user__email", "step": "step", …}``; ``step`` and ``coupon`` may be
    left out (NULL). Returns how many events were written."""
    missing = set(DATA_COLUMNS) - set(OPTIONAL_COLUMNS) - set(columns)
    unknown = set(columns) - set(DATA_COLUMNS)
    if missing or unknown:
        raise ValueError(f"columns: missing {sorted(missing)}, unknown {sorted(unknown)}")
    if not wanted(type):
        return 0
    # Aliased, because an alias may not share a name with a field of the rows' model (cart_id, status, …).
    aliased = {f"event_{name}": F(value) if isinstance(value, str) else value for name, value in columns.items()}
    select = rows.order_by().values(**aliased)
    select_sql, select_params = select.query.get_compiler(connection=connection).as_sql()
    picked = ", ".join(f"changed.event_{name}" if name in columns else "NULL" for name in DATA_COLUMNS)
    sql = insert_events_sql(select_sql=f"SELECT %s, %s, {picked} FROM ({select_sql}) changed")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, (type, connection.ops.adapt_datetimefield_value(occurred_at), *select_params))
        return cursor.rowcount


def insert_events_sql(*, select_sql: str) -> str:
    """``INSERT INTO`` the outbox ``(type, occurred_at, <DATA_COLUMNS>)`` followed by ``select_sql``, which must
    produce those ten columns in that order. For writers building their own statement; they call :func:`wanted`
    first. The columns not listed (``fanned_out_at``) start NULL: the event waits to be fanned out."""
    qn = connection.ops.quote_name
    columns = ", ".join(qn(name) for name in ("type", "occurred_at", *DATA_COLUMNS))
    return f"INSERT INTO {qn(Event._meta.db_table)} ({columns}) {select_sql}"
