"""One real `manage.py runapscheduler` process: it sweeps on its own, and stops cleanly on SIGTERM and Ctrl-C."""

import signal
import time

import pytest
from django_apscheduler.models import DjangoJobExecution

from carts.models import AbandonmentLog, Cart
from scheduler import jobs
from tests.scheduler.process import scheduler_process, stale_cart, wait_for


def _first_sweep_done() -> bool:
    return DjangoJobExecution.objects.filter(job_id=jobs.SWEEP_JOB_ID, status="Executed").exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_scheduler_process_abandons_a_stale_cart_on_its_own_and_stops_on_sigterm(item, tmp_path):
    # Given the scheduler running as its own process on the test database, sweeping every 2 seconds
    with scheduler_process(tmp_path) as scheduler:
        process = scheduler.process
        # Once it has swept for the first time, a cart goes stale: only a later, scheduled sweep can mark it
        wait_for(_first_sweep_done, timeout=20, process=process, what="the first sweep")
        cart = stale_cart(item)

        # Then the scheduler abandons it without anyone asking
        wait_for(
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
    with scheduler_process(tmp_path, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) as scheduler:
        wait_for(_first_sweep_done, timeout=20, process=scheduler.process, what="the first sweep")
        scheduler.process.send_signal(signal.SIGINT)
        assert scheduler.process.wait(timeout=10) == 0
    assert "scheduler stopping on SIGINT" in scheduler.log, scheduler.log
    assert "scheduler stopped" in scheduler.log, scheduler.log
