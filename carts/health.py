"""Is the scheduler alive? "A scheduler that silently stopped so nothing was sent" is caught here.

The sweep runs every CART_SWEEP_INTERVAL_SECONDS and django-apscheduler records each run. When no successful sweep
is recorded for two intervals (plus a minute of slack), the scheduler is reported as stalled: on the admin index,
on /healthz (503 for uptime monitors) and by ``manage.py check_scheduler`` (exit status 1 for cron/monitoring).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django_apscheduler.models import DjangoJobExecution

from .scheduler import SWEEP_JOB_ID


@dataclass(frozen=True)
class SchedulerHealth:
    healthy: bool
    last_sweep_at: datetime | None
    last_error_at: datetime | None
    message: str


def allowed_silence() -> timedelta:
    return timedelta(seconds=2 * settings.CART_SWEEP_INTERVAL_SECONDS + 60)


def scheduler_health(*, now: datetime) -> SchedulerHealth:
    runs = DjangoJobExecution.objects.filter(job_id=SWEEP_JOB_ID).order_by("-run_time")
    last_sweep_at = runs.filter(status=DjangoJobExecution.SUCCESS).values_list("run_time", flat=True).first()
    last_error_at = runs.filter(status=DjangoJobExecution.ERROR).values_list("run_time", flat=True).first()
    if last_sweep_at is None:
        return SchedulerHealth(False, None, last_error_at, "No sweep has ever completed: is runapscheduler running?")
    silence = now - last_sweep_at
    if silence > allowed_silence():
        minutes = int(silence.total_seconds() // 60)
        return SchedulerHealth(
            False, last_sweep_at, last_error_at, f"No sweep completed for {minutes} minutes: is runapscheduler running?"
        )
    return SchedulerHealth(True, last_sweep_at, last_error_at, "The scheduler is sweeping on time.")
