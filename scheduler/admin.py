"""django-apscheduler's admin for the scheduler's jobs and runs, with the same guard as every other list here against a
date filter past year 1 or 9999."""

from django.contrib import admin
from django_apscheduler.admin import DjangoJobAdmin, DjangoJobExecutionAdmin
from django_apscheduler.models import DjangoJob, DjangoJobExecution

from core.admin import OverflowSafeChangeListMixin

for _model, _admin_class in ((DjangoJob, DjangoJobAdmin), (DjangoJobExecution, DjangoJobExecutionAdmin)):
    admin.site.unregister(_model)
    admin.site.register(_model, type(_admin_class.__name__, (OverflowSafeChangeListMixin, _admin_class), {}))
