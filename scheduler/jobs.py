"""The scheduler's job list: what ``manage.py runapscheduler`` runs, and how often.

Jobs are module-level functions (DjangoJobStore stores a ``module:function`` reference, not a closure), each wrapped
with ``django_apscheduler.util.close_old_connections`` so a connection the database dropped between two runs is
replaced instead of failing the job. Each one is a thin adapter around a service and logs one line per run with its
counts: a silent log is the first sign of a scheduler that stopped. Staff also see every run, its duration and any
error in the admin (django_apscheduler's "Django job executions"). An exception in a job is logged by APScheduler
with its traceback, recorded as an "Error!" execution, and the scheduler goes on with the next run.

Two scheduler processes on one database (two machines sharing a PostgreSQL, or an operator starting a second one by
mistake) are harmless by design, not by luck. Both ``add_job(..., replace_existing=True)`` the same stable ids into the
same DjangoJobStore, and both may run the same job at about the same time; every job is written to be idempotent and
race-safe:

* the sweep takes disjoint batches (``FOR NO KEY UPDATE SKIP LOCKED``) and its UPDATE re-checks the rule, so a cart is
  marked once and logged once (the log is also unique per cart in the database);
* recovery emails are claimed row by row in a short transaction before they are sent (``SKIP LOCKED`` plus a
  status change), and (cart, step) is unique, so no reminder goes out twice;
* webhooks are claimed in a short transaction before they are sent (``SKIP LOCKED`` plus a status change under a
  claim id), and (event, endpoint) is unique, so no attempt is made twice;
* pruning old job runs, carts or webhook events is a DELETE of rows past an age, re-checked in each batch.

django-apscheduler keys each run record by (job, run time), so two processes running the same occurrence share one
record in the admin (should both insert it at the same instant, the second insert is skipped with a warning).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.utils import timezone
from django_apscheduler import util
from django_apscheduler.jobstores import DjangoJobStore
from django_apscheduler.models import DjangoJobExecution

from carts.retention import PruneResult, prune_old_carts
from carts.sweep import SweepResult, sweep_abandoned_carts
from recovery.sending import send_due_recovery_emails
from webhooks.delivery import DeliveryRunResult, deliver_due_webhooks
from webhooks.retention import PruneResult as WebhookPruneResult
from webhooks.retention import prune_webhook_events

logger = logging.getLogger(__name__)

# Stable ids: a restart (or a second process) replaces the stored job of the same id, and the run history the health
# check reads is keyed by them. They kept the names they had when the jobs lived in the carts app, so an upgrade keeps
# the history (a new id would start the scheduler with no recorded success).
SWEEP_JOB_ID = "carts.sweep_abandoned_carts"
RECOVERY_EMAILS_JOB_ID = "carts.send_due_recovery_emails"
PRUNE_JOB_EXECUTIONS_JOB_ID = "scheduler.delete_old_job_executions"
PRUNE_CARTS_JOB_ID = "carts.prune_old_carts"
WEBHOOKS_JOB_ID = "webhooks.deliver_webhooks"
PRUNE_WEBHOOK_EVENTS_JOB_ID = "webhooks.prune_webhook_events"


# --- the jobs -----------------------------------------------------------------------------------------------------


@util.close_old_connections
def sweep_job() -> SweepResult:
    """Mark the carts left untouched too long as abandoned (the service logs the counts)."""
    return sweep_abandoned_carts(now=timezone.now())


class NothingSent(Exception):
    """Every email a run tried to send failed."""


@util.close_old_connections
def recovery_emails_job() -> None:
    """Plan, claim and send the recovery emails that are due.

    A run in which every send failed raises NothingSent once its counts are logged (each email keeps its own error
    and retries as before). APScheduler then records the run as an error, so a mail server that refuses everything,
    or a wrong EMAIL_HOST, turns the scheduler health red within two intervals (scheduler/health.py) instead of leaving
    it green while nothing goes out. A run with nothing due, or with one success, is a success."""
    result = send_due_recovery_emails(now=timezone.now())
    logger.info(
        "recovery emails job: %d sent, %d to retry, %d failed (%.2f s)",
        result.sent,
        result.retrying,
        result.failed,
        result.seconds,
    )
    if result.sent == 0 and result.retrying + result.failed > 0:
        raise NothingSent(
            f"every recovery email of this run failed to send ({result.retrying} to retry, {result.failed} failed for"
            " good): is the mail server reachable and EMAIL_* set right? Each error is in the log and on the email"
            " in the admin."
        )


@util.close_old_connections
def prune_job_executions_job(*, now: datetime | None = None, max_age_seconds: int | None = None) -> int:
    """Delete scheduler run records older than ``JOB_EXECUTIONS_MAX_AGE_SECONDS`` (the table would grow forever).

    The same rule as django-apscheduler's ``DjangoJobExecution.objects.delete_old_job_executions``, which does not fit
    here: it reads the clock itself (tests pass ``now``) and returns no count to log."""
    now = now or timezone.now()
    max_age_seconds = settings.JOB_EXECUTIONS_MAX_AGE_SECONDS if max_age_seconds is None else max_age_seconds
    deleted, _ = DjangoJobExecution.objects.filter(run_time__lte=now - timedelta(seconds=max_age_seconds)).delete()
    logger.info("pruned %d scheduler job runs older than %d s", deleted, max_age_seconds)
    return deleted


@util.close_old_connections
def prune_carts_job() -> PruneResult:
    """Retention: delete stale empty carts and closed carts past CART_RETENTION_DAYS (the service logs counts)."""
    return prune_old_carts(now=timezone.now())


@util.close_old_connections
def webhooks_job() -> DeliveryRunResult:
    """Fan out new webhook events and send the deliveries that are due (the service logs the counts).

    A receiver that fails is its owner's problem, recorded on the delivery and retried; it does not fail the job.
    The health rule (scheduler/health.py) does not watch this job: a stopped scheduler already shows there through
    the sweep, and an error of the job itself is recorded as an "Error!" run in the admin like any job's."""
    return deliver_due_webhooks(now=timezone.now())


@util.close_old_connections
def prune_webhook_events_job() -> WebhookPruneResult:
    """Retention of the outbox: events past CART_WEBHOOKS_RETENTION_DAYS whose deliveries finished."""
    return prune_webhook_events(now=timezone.now())


# --- the schedule -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduledJob:
    id: str
    func: Callable
    trigger: BaseTrigger
    name: str
    # Per-job overrides of the scheduler's job_defaults (e.g. a longer misfire grace time for a weekly job).
    options: dict = field(default_factory=dict)


def scheduled_jobs() -> list[ScheduledJob]:
    """The job list, built from the settings at call time."""
    interval = settings.CART_SWEEP_INTERVAL_SECONDS
    first_run = timezone.now()  # the periodic jobs run once at start, then every interval
    return [
        ScheduledJob(
            id=SWEEP_JOB_ID,
            func=sweep_job,
            trigger=IntervalTrigger(seconds=interval, timezone=settings.TIME_ZONE),
            name="Mark abandoned carts",
            options={"next_run_time": first_run},
        ),
        # The recovery emails (recovery/sending.py), at the same pace as the sweep.
        ScheduledJob(
            id=RECOVERY_EMAILS_JOB_ID,
            func=recovery_emails_job,
            trigger=IntervalTrigger(seconds=interval, timezone=settings.TIME_ZONE),
            name="Send due recovery emails",
            options={"next_run_time": first_run},
        ),
        # Weekly, Monday 00:00 (as django-apscheduler's README suggests); a missed run still happens within a day.
        ScheduledJob(
            id=PRUNE_JOB_EXECUTIONS_JOB_ID,
            func=prune_job_executions_job,
            trigger=CronTrigger(day_of_week="mon", hour="00", minute="00", timezone=settings.TIME_ZONE),
            name="Delete old scheduler job runs",
            options={"misfire_grace_time": 86_400},
        ),
        # Daily at 03:00, a quiet hour for most shops.
        ScheduledJob(
            id=PRUNE_CARTS_JOB_ID,
            func=prune_carts_job,
            trigger=CronTrigger(hour="03", minute="00", timezone=settings.TIME_ZONE),
            name="Delete carts past retention",
            options={"misfire_grace_time": 86_400},
        ),
        # Webhooks every few seconds: a receiver hears of a change soon after it is committed.
        ScheduledJob(
            id=WEBHOOKS_JOB_ID,
            func=webhooks_job,
            trigger=IntervalTrigger(seconds=settings.CART_WEBHOOKS_INTERVAL_SECONDS, timezone=settings.TIME_ZONE),
            name="Deliver webhooks",
            options={"next_run_time": first_run},
        ),
        # Daily at 03:30, after the carts' prune.
        ScheduledJob(
            id=PRUNE_WEBHOOK_EVENTS_JOB_ID,
            func=prune_webhook_events_job,
            trigger=CronTrigger(hour="03", minute="30", timezone=settings.TIME_ZONE),
            name="Delete webhook events past retention",
            options={"misfire_grace_time": 86_400},
        ),
    ]


def job_defaults() -> dict:
    return {
        # After a pause (a long job, a suspended machine) run a missed job once, not once per missed interval.
        "coalesce": True,
        # A sweep slower than the interval is never overlapped by the next one in the same process.
        "max_instances": 1,
        # APScheduler's default of 1 s would skip a run that starts a little late; a whole interval is fine.
        "misfire_grace_time": max(settings.CART_SWEEP_INTERVAL_SECONDS, 60),
    }


def register_jobs(scheduler: BaseScheduler) -> None:
    """Add every job with its stable id; ``replace_existing`` makes a restart (or a second process) update the stored
    job instead of adding a duplicate."""
    for job in scheduled_jobs():
        scheduler.add_job(
            job.func,
            trigger=job.trigger,
            id=job.id,
            name=job.name,
            jobstore="default",
            replace_existing=True,
            **job.options,
        )


def build_scheduler(*, scheduler_class: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
    """A scheduler with the Django job store and the job list registered, not started."""
    scheduler = scheduler_class(timezone=settings.TIME_ZONE, job_defaults=job_defaults())
    scheduler.add_jobstore(DjangoJobStore(), "default")
    register_jobs(scheduler)
    return scheduler
