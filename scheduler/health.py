"""Is the scheduler alive? "A scheduler that silently stopped so nothing was sent" is caught here.

The sweep and the recovery emails job each run every CART_SWEEP_INTERVAL_SECONDS, and django-apscheduler records
each run. When either has no successful run recorded for two intervals (plus a minute of slack), the scheduler is
reported as stalled: on the admin index, on /healthz (503 for uptime monitors) and by ``manage.py check_scheduler``
(exit status 1 for cron/monitoring). Watching the emails job too matters: a sweep that runs while every email run
fails would otherwise look healthy while nothing is sent. A run in which every send failed (a mail server that
refuses everything, a wrong EMAIL_HOST) counts as a failed run (``NothingSent`` in scheduler/jobs.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django_apscheduler.models import DjangoJobExecution

from .jobs import RECOVERY_EMAILS_JOB_ID, SWEEP_JOB_ID

# The jobs that must keep succeeding, and how the messages name a run of each.
WATCHED_JOBS = {SWEEP_JOB_ID: "sweep", RECOVERY_EMAILS_JOB_ID: "run of the recovery emails job"}


@dataclass(frozen=True)
class SchedulerHealth:
    healthy: bool
    last_sweep_at: datetime | None
    message: str


def allowed_silence() -> timedelta:
    return timedelta(seconds=2 * settings.CART_SWEEP_INTERVAL_SECONDS + 60)


def scheduler_health(*, now: datetime) -> SchedulerHealth:
    successes = DjangoJobExecution.objects.filter(status=DjangoJobExecution.SUCCESS).order_by("-run_time")
    # One newest-first lookup per job: it walks the (job_id, run_time) unique index backwards to the newest success
    # (a GROUP BY with Max() would read every run of the week on each /healthz).
    last_success = {
        job_id: successes.filter(job_id=job_id).values_list("run_time", flat=True).first() for job_id in WATCHED_JOBS
    }
    last_sweep_at = last_success.get(SWEEP_JOB_ID)

    def stalled(message: str) -> SchedulerHealth:
        return SchedulerHealth(False, last_sweep_at, message)

    for job_id, a_run in WATCHED_JOBS.items():
        last = last_success.get(job_id)
        if last is None:
            return stalled(f"No {a_run} has ever completed: is runapscheduler running?")
        silence = now - last
        if silence > allowed_silence():
            minutes = int(silence.total_seconds() // 60)
            return stalled(
                f"No {a_run} completed for {minutes} minutes: is runapscheduler running? "
                "Failed runs and their errors are under Django job executions in the admin."
            )
    return SchedulerHealth(True, last_sweep_at, "The scheduler is sweeping and sending on time.")
