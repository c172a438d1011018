"""Pieces every app's admin shares."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters


class OverflowSafeChangeListMixin:
    """A changelist URL with a date-time whose offset pushes it past year 1 or 9999 in UTC
    (``?last_updated__gte=0001-01-01T00:00:00%2B14:00``) makes SQLite's adapter raise OverflowError when the list
    counts its rows, after the admin has checked the parameters: a 500. Here it is what any other bad lookup is, the
    admin's own redirect to the plain list with ``?e=1``."""

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except OverflowError as exc:
            raise IncorrectLookupParameters(exc) from exc


class ReadOnlyAdmin(OverflowSafeChangeListMixin, admin.ModelAdmin):
    """An admin that shows rows and never changes them: the rows are written by the product's services."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
