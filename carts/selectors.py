"""Reads of carts that more than one caller needs."""

from __future__ import annotations

from django.db.models import QuerySet

from users.models import User

from .models import Cart


def open_carts_of(*, user: User) -> QuerySet[Cart]:
    """The user's open cart (active or abandoned) as a queryset: at most one row, by the "one open cart per user"
    unique index. The services lock it (``select_for_update()``), the API reads it."""
    return Cart.objects.filter(user_id=user.pk, status__in=Cart.OPEN_STATUSES)
