"""Reads for the report. Every figure comes from the cart table, whose ``item_count``/``total`` the services keep
equal to the lines, so no query here joins the lines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from .models import Cart

# "Every cart that was ever abandoned": abandoned_at is set by the sweep and kept after recovery or checkout.
EVER_ABANDONED = Q(abandoned_at__isnull=False)

REPORT_COLUMNS = [
    "cart_id",
    "user_id",
    "email",
    "status",
    "last_updated",
    "abandoned_at",
    "item_count",
    "total",
    "recovered",
]


@dataclass(frozen=True)
class ReportFilters:
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None


def abandoned_carts(*, filters: ReportFilters) -> QuerySet[Cart]:
    """Carts ever abandoned, newest abandonment first, narrowed by period (on ``abandoned_at``) and status."""
    carts = Cart.objects.filter(EVER_ABANDONED)
    if filters.since is not None:
        carts = carts.filter(abandoned_at__gte=filters.since)
    if filters.until is not None:
        carts = carts.filter(abandoned_at__lt=filters.until)
    if filters.status:
        carts = carts.filter(status=filters.status)
    return carts.order_by("-abandoned_at", "-id")


def abandoned_cart_rows(*, filters: ReportFilters, chunk_size: int = 2000) -> Iterator[dict]:
    """The report's rows as plain dicts, streamed from the database in chunks (constant memory)."""
    rows = abandoned_carts(filters=filters).values_list(
        "id",
        "user_id",
        "user__email",
        "status",
        "last_updated",
        "abandoned_at",
        "item_count",
        "total",
        "recovered_at",
    )
    for cart_id, user_id, email, status, last_updated, abandoned_at, item_count, total, recovered_at in rows.iterator(
        chunk_size=chunk_size
    ):
        yield {
            "cart_id": cart_id,
            "user_id": user_id,
            "email": email,
            "status": status,
            "last_updated": last_updated,
            "abandoned_at": abandoned_at,
            "item_count": item_count,
            "total": total,
            "recovered": recovered_at is not None,
        }
