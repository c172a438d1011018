"""django-apscheduler's admin for the scheduler's jobs and runs, with the same guard as every other list here against a
date filter past year 1 or 9999."""

from django.contrib import admin
from django_apscheduler.admin import DjangoJobAdmin, DjangoJobExecutionAdmin
from django_apscheduler.models import DjangoJob, DjangoJobExecution

from core.admin import OverflowSafeChangeListMixin


class _NoAddMixin:
    """The scheduler writes its jobs and runs itself; a hand-made one would be a job no code runs."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False


for _model, _admin_class in ((DjangoJob, DjangoJobAdmin), (DjangoJobExecution, DjangoJobExecutionAdmin)):
    admin.site.unregister(_model)
    admin.site.register(
        _model, type(_admin_class.__name__, (OverflowSafeChangeListMixin, _NoAddMixin, _admin_class), {})
    )
