"""The scheduler's job list and jobs (called as plain functions), and one real `manage.py runapscheduler` process."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_apscheduler.models import DjangoJob, DjangoJobExecution

from carts import scheduler as jobs
from carts.models import AbandonmentLog, Cart
from tests.carts.factories import make_cart

pytestmark = pytest.mark.django_db

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
    settings.CART_RECOVERY_EMAIL_STEPS = [3600, 86400]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    abandoned_at = timezone.now() - timedelta(hours=2)
    make_cart(user=shopper, lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=abandoned_at)

    jobs.recovery_emails_job.__wrapped__()

    assert [message.to for message in mail.outbox] == [[shopper.email]]


def test_a_recovery_emails_run_in_which_every_send_fails_is_a_failed_run(item, shopper, settings):
    settings.CART_RECOVERY_EMAIL_STEPS = [3600, 86400]
    settings.EMAIL_BACKEND = "tests.carts.test_recovery_emails.BrokenBackend"
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


# --- the real process -------------------------------------------------------------------------------------------


def _database_url_of_the_test_database() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_for(condition, *, timeout: float, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the scheduler exited early while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@dataclass
class SchedulerProcess:
    process: subprocess.Popen
    log: str = ""


@contextmanager
def _scheduler_process(tmp_path, **popen):
    """`manage.py runapscheduler` as its own process on the test database, sweeping every 2 seconds. On the way out
    it is killed if still running and its log is kept; a failed check inside shows that log."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url_of_the_test_database(),
        "DJANGO_SECRET_KEY": "scheduler-process-test",
        "DJANGO_DEBUG": "0",
        "CART_SWEEP_INTERVAL_SECONDS": "2",
    }
    with (tmp_path / "scheduler.log").open("w+") as output:
        scheduler = SchedulerProcess(
            subprocess.Popen(
                [sys.executable, "manage.py", "runapscheduler"],
                cwd=PROJECT_DIR,
                env=env,
                stdout=output,
                stderr=output,
                **popen,
            )
        )
        failure = None
        try:
            yield scheduler
        except (AssertionError, subprocess.TimeoutExpired) as exc:
            failure = exc
        finally:
            if scheduler.process.poll() is None:
                scheduler.process.kill()
                scheduler.process.wait()
            output.seek(0)
            scheduler.log = output.read()
    if failure is not None:
        pytest.fail(f"{failure}\n--- the scheduler's log ---\n{scheduler.log}")


def _first_sweep_done() -> bool:
    return DjangoJobExecution.objects.filter(job_id=jobs.SWEEP_JOB_ID, status="Executed").exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_scheduler_process_abandons_a_stale_cart_on_its_own_and_stops_on_sigterm(item, tmp_path):
    # Given the scheduler running as its own process on the test database, sweeping every 2 seconds
    with _scheduler_process(tmp_path) as scheduler:
        process = scheduler.process
        # Once it has swept for the first time, a cart goes stale: only a later, scheduled sweep can mark it
        _wait_for(_first_sweep_done, timeout=20, process=process, what="the first sweep")
        cart = _stale_cart(item)

        # Then the scheduler abandons it without anyone asking
        _wait_for(
            lambda: Cart.objects.filter(pk=cart.pk, status=Cart.Status.ABANDONED).exists(),
            timeout=20,
            process=process,
            what="the cart to be abandoned",
        )
        assert AbandonmentLog.objects.filter(cart=cart).count() == 1

        # And it exits cleanly within seconds of SIGTERM
        process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        assert process.wait(timeout=5) == 0
        assert time.monotonic() - stopped < 5
    assert "scheduler stopped" in scheduler.log, scheduler.log
    assert "1 carts marked abandoned" in scheduler.log, scheduler.log


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_ctrl_c_stops_the_scheduler_even_when_a_shell_started_it_with_sigint_ignored(tmp_path):
    # `make run` starts the scheduler as a background job of a shell script, and a shell starts those with SIGINT
    # ignored: Ctrl-C must still stop it, not leave it running behind the web server.
    with _scheduler_process(tmp_path, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) as scheduler:
        _wait_for(_first_sweep_done, timeout=20, process=scheduler.process, what="the first sweep")
        scheduler.process.send_signal(signal.SIGINT)
        assert scheduler.process.wait(timeout=10) == 0
    assert "scheduler stopping on SIGINT" in scheduler.log, scheduler.log
    assert "scheduler stopped" in scheduler.log, scheduler.log
