"""Small database helpers every app's services share."""

from __future__ import annotations

from django.db.models import QuerySet


def one_or_none(rows: QuerySet):
    """The row a unique lookup finds, or None. ``first()`` would add an ORDER BY the lookup has no use for, and
    compiling it is a measurable share of a cart request's CPU (``bench/request_cpu.py``)."""
    try:
        return rows.get()
    except rows.model.DoesNotExist:
        return None
