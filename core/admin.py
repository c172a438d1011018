"""Pieces every app's admin shares."""

import logging
from contextlib import nullcontext

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import DataError, router, transaction

logger = logging.getLogger(__name__)


class OverflowSafeChangeListMixin:
    """A changelist filtered on a date the database or Python's dates cannot hold is what any other bad lookup is: the
    admin's own redirect to the plain list with ``?e=1``, not a 500. The cases:

    - a date-time whose offset pushes it past year 1 or 9999 in UTC (``?last_updated__gte=0001-01-01T00:00%2B14:00``):
      SQLite's adapter raises OverflowError when the list counts its rows;
    - a date hierarchy at its end (``?last_updated__year=9999``, also with ``__month=12``): the admin's own bounds
      computation goes past year 9999 (ValueError, OverflowError);
    - on PostgreSQL, an offset beyond ±15:59 (``…T00:00:00%2B16:00``), which no zone has: the database refuses the
      value (DataError). Inside a transaction (a test's) the list runs in a savepoint, so the refusal does not spoil
      the transaction around it; outside one, no transaction is opened (on SQLite that would take the write lock).
    """

    def get_changelist_instance(self, request):
        using = router.db_for_read(self.model)
        guard = transaction.atomic(using=using) if transaction.get_connection(using).in_atomic_block else nullcontext()
        try:
            with guard:
                return super().get_changelist_instance(request)
        except (OverflowError, ValueError, DataError) as exc:
            logger.info("admin list %s: refused the lookup %s (%s)", request.path, request.GET.urlencode(), exc)
            raise IncorrectLookupParameters(exc) from exc


class ReadOnlyAdmin(OverflowSafeChangeListMixin, admin.ModelAdmin):
    """An admin that shows rows and never changes them: the rows are written by the product's services."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
