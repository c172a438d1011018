"""A scheduler that silently stopped is visible: admin index, /healthz and check_scheduler all say so."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_apscheduler.models import DjangoJob, DjangoJobExecution

from carts.health import scheduler_health
from carts.scheduler import SWEEP_JOB_ID

pytestmark = pytest.mark.django_db


def record_sweep(at, status=DjangoJobExecution.SUCCESS):
    job, _ = DjangoJob.objects.get_or_create(id=SWEEP_JOB_ID, defaults={"job_state": b""})
    DjangoJobExecution.objects.create(job=job, status=status, run_time=at)


@pytest.fixture
def interval(settings):
    settings.CART_SWEEP_INTERVAL_SECONDS = 300
    return timedelta(seconds=300)


def test_a_scheduler_that_never_swept_is_unhealthy(interval, clock):
    health = scheduler_health(now=clock.now())

    assert not health.healthy
    assert "runapscheduler" in health.message


def test_a_recent_sweep_is_healthy_and_two_missed_intervals_are_not(interval, clock):
    record_sweep(clock.now())

    assert scheduler_health(now=clock.now() + 2 * interval + timedelta(seconds=59)).healthy
    late = scheduler_health(now=clock.now() + 2 * interval + timedelta(seconds=61))
    assert not late.healthy
    assert late.last_sweep_at == clock.now()


def test_failing_sweeps_do_not_count_as_alive(interval, clock):
    record_sweep(clock.now() - 3 * interval)
    record_sweep(clock.now(), status=DjangoJobExecution.ERROR)

    health = scheduler_health(now=clock.now())

    assert not health.healthy
    assert health.last_error_at == clock.now()


def test_healthz_answers_503_when_stalled_and_200_when_sweeping(interval, client):
    assert client.get("/healthz").status_code == 503

    record_sweep(timezone.now())
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["scheduler"]["healthy"] is True


def test_healthz_answers_head_for_monitors_and_refuses_writes_in_json(interval, client):
    record_sweep(timezone.now())

    assert client.head("/healthz").status_code == 200
    refused = client.post("/healthz")
    assert refused.status_code == 405
    assert refused["Allow"] == "GET, HEAD"
    assert refused.json() == {"detail": 'Method "POST" not allowed.'}


def test_check_scheduler_fails_for_monitoring_when_stalled(interval):
    with pytest.raises(CommandError, match="runapscheduler"):
        call_command("check_scheduler")

    record_sweep(timezone.now())
    call_command("check_scheduler")


def test_the_admin_index_warns_staff_when_the_scheduler_stalled(interval, staff):
    browser = Client()
    browser.force_login(staff)

    stalled = browser.get("/admin/").content.decode()
    record_sweep(timezone.now())
    fine = browser.get("/admin/").content.decode()

    assert 'id="scheduler-health"' in stalled
    assert 'id="scheduler-health"' not in fine
    assert "sweeping on time" in fine


def test_healthz_refuses_a_post_in_json_even_with_csrf_checks_on(interval):
    # Django's test client skips CSRF checks unless asked; the CSRF middleware's HTML 403 would come first otherwise.
    response = Client(enforce_csrf_checks=True).post("/healthz")

    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "POST" not allowed.'}
