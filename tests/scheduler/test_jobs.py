"""The scheduler's job list and jobs (called as plain functions), and one real `manage.py runapscheduler` process."""

from datetime import timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from django.conf import settings
from django.core import mail
from django.utils import timezone
from django_apscheduler.models import DjangoJob, DjangoJobExecution

from carts.models import AbandonmentLog, Cart
from scheduler import jobs
from tests.carts.factories import make_cart

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("campaign")]

PROJECT_DIR = Path(settings.BASE_DIR)

# The jobs are wrapped with close_old_connections, which (rightly) drops a connection left inside a transaction; a
# test's own transaction is one, so these tests call the function inside the wrapper. The process test runs it whole.


def _stale_cart(item, **fields) -> Cart:
    age = timedelta(seconds=settings.CART_ABANDON_AFTER_SECONDS + 60)
    return make_cart(lines=[(item, 2)], last_updated=timezone.now() - age, **fields)


@pytest.fixture
def started_paused_scheduler():
    """The real scheduler set-up (DjangoJobStore, job list), started paused so no job runs in the test."""
    scheduler = jobs.build_scheduler(scheduler_class=BackgroundScheduler)
    scheduler.start(paused=True)
    yield scheduler
    scheduler.shutdown(wait=False)


def test_the_scheduler_stores_each_job_once_under_a_stable_id_with_safe_defaults(started_paused_scheduler, settings):
    stored = {job.id: job for job in started_paused_scheduler.get_jobs()}

    assert set(stored) == {
        jobs.SWEEP_JOB_ID,
        jobs.RECOVERY_EMAILS_JOB_ID,
        jobs.PRUNE_JOB_EXECUTIONS_JOB_ID,
        jobs.PRUNE_CARTS_JOB_ID,
        jobs.WEBHOOKS_JOB_ID,
        jobs.PRUNE_WEBHOOK_EVENTS_JOB_ID,
    }
    sweep = stored[jobs.SWEEP_JOB_ID]
    assert sweep.func is jobs.sweep_job
    assert sweep.trigger.interval == timedelta(seconds=settings.CART_SWEEP_INTERVAL_SECONDS)
    assert (sweep.coalesce, sweep.max_instances) == (True, 1)
    assert sweep.misfire_grace_time >= 60
    assert stored[jobs.RECOVERY_EMAILS_JOB_ID].func is jobs.recovery_emails_job
    assert isinstance(stored[jobs.PRUNE_JOB_EXECUTIONS_JOB_ID].trigger, CronTrigger)
    assert stored[jobs.PRUNE_CARTS_JOB_ID].func is jobs.prune_carts_job
    assert isinstance(stored[jobs.PRUNE_CARTS_JOB_ID].trigger, CronTrigger)
    webhooks = stored[jobs.WEBHOOKS_JOB_ID]
    assert webhooks.func is jobs.webhooks_job
    assert webhooks.trigger.interval == timedelta(seconds=settings.CART_WEBHOOKS_INTERVAL_SECONDS)
    assert (webhooks.coalesce, webhooks.max_instances) == (True, 1)
    assert stored[jobs.PRUNE_WEBHOOK_EVENTS_JOB_ID].func is jobs.prune_webhook_events_job
    assert isinstance(stored[jobs.PRUNE_WEBHOOK_EVENTS_JOB_ID].trigger, CronTrigger)
    assert set(DjangoJob.objects.values_list("id", flat=True)) == set(stored)


def test_registering_again_as_a_restart_or_a_second_process_does_updates_the_jobs_instead_of_duplicating_them(
    started_paused_scheduler,
):
    jobs.register_jobs(started_paused_scheduler)
    jobs.register_jobs(started_paused_scheduler)

    assert DjangoJob.objects.count() == len(jobs.scheduled_jobs())


def test_the_sweep_interval_comes_from_settings(settings):
    settings.CART_SWEEP_INTERVAL_SECONDS = 2

    sweep = next(job for job in jobs.scheduled_jobs() if job.id == jobs.SWEEP_JOB_ID)

    assert sweep.trigger.interval == timedelta(seconds=2)


def test_the_webhooks_interval_comes_from_settings(settings):
    settings.CART_WEBHOOKS_INTERVAL_SECONDS = 7

    webhooks = next(job for job in jobs.scheduled_jobs() if job.id == jobs.WEBHOOKS_JOB_ID)

    assert webhooks.trigger.interval == timedelta(seconds=7)


def test_the_sweep_job_abandons_a_stale_cart(item, caplog):
    cart = _stale_cart(item)
    caplog.set_level("INFO", logger="carts.sweep")

    result = jobs.sweep_job.__wrapped__()

    cart.refresh_from_db()
    assert result.marked == 1
    assert cart.status == Cart.Status.ABANDONED
    assert AbandonmentLog.objects.filter(cart=cart).exists()
    assert "1 carts marked abandoned" in caplog.text


def test_the_recovery_emails_job_sends_the_reminder_that_is_due(item, shopper, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    abandoned_at = timezone.now() - timedelta(hours=2)
    make_cart(user=shopper, lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=abandoned_at)

    jobs.recovery_emails_job.__wrapped__()

    assert [message.to for message in mail.outbox] == [[shopper.email]]


def test_a_recovery_emails_run_in_which_every_send_fails_is_a_failed_run(item, shopper, settings):
    settings.EMAIL_BACKEND = "tests.recovery.test_sending.BrokenBackend"
    abandoned_at = timezone.now() - timedelta(hours=2)
    cart = make_cart(user=shopper, lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=abandoned_at)

    with pytest.raises(jobs.NothingSent, match="1 to retry"):
        jobs.recovery_emails_job.__wrapped__()

    assert cart.recovery_emails.get().status == "pending"  # kept, to be retried as before
    jobs.recovery_emails_job.__wrapped__()  # then nothing is due (the retry waits): not a failure


def test_the_prune_job_deletes_job_runs_older_than_the_max_age_and_keeps_the_rest():
    now = timezone.now()
    job = DjangoJob.objects.create(id="some-job", job_state=b"")
    old = DjangoJobExecution.objects.create(
        job=job, status=DjangoJobExecution.SUCCESS, run_time=now - timedelta(days=8)
    )
    recent = DjangoJobExecution.objects.create(
        job=job, status=DjangoJobExecution.SUCCESS, run_time=now - timedelta(days=6)
    )

    deleted = jobs.prune_job_executions_job.__wrapped__(now=now, max_age_seconds=7 * 86_400)

    assert deleted == 1
    assert list(DjangoJobExecution.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not DjangoJobExecution.objects.filter(pk=old.pk).exists()


def test_the_prune_carts_job_really_deletes_carts_past_retention(item, settings):
    settings.CART_RETENTION_DAYS = 30
    long_ago = timezone.now() - timedelta(days=400)
    cart = make_cart(lines=[(item, 1)], status=Cart.Status.CHECKED_OUT, checked_out_at=long_ago, last_updated=long_ago)

    result = jobs.prune_carts_job.__wrapped__()

    assert (result.expired_carts, result.dry_run) == (1, False)
    assert not Cart.objects.filter(pk=cart.pk).exists()
