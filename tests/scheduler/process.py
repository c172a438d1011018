"""`manage.py runapscheduler` as a real process on the test database, for the tests that need one."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from carts.models import Cart
from tests.carts.factories import make_cart
from tests.helpers import PROJECT_DIR, child_process_env


def stale_cart(item, **fields) -> Cart:
    """A cart the next sweep abandons."""
    age = timedelta(seconds=settings.CART_ABANDON_AFTER_SECONDS + 60)
    return make_cart(lines=[(item, 2)], last_updated=timezone.now() - age, **fields)


def wait_for(condition, *, timeout: float, process: subprocess.Popen, what: str) -> None:
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
def scheduler_process(tmp_path, **popen):
    """`manage.py runapscheduler` as its own process on the test database, with production settings, sweeping every
    2 seconds. On the way out it is killed if still running and its log is kept; a failed check inside shows that
    log."""
    env = child_process_env(DJANGO_DEBUG="0", CART_SWEEP_INTERVAL_SECONDS="2")
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
