"""Fault (b): PostgreSQL stops while the scheduler runs. The scheduler logs the failure, keeps running, and sweeps
again once the database is back.

This test stops and starts the machine's PostgreSQL server, which every other database on it shares, so it runs only
when asked: `.ci/run` sets CART_FAULT_PG_RESTART=1 in a step of its own, after the suites."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from carts.models import AbandonmentLog, Cart
from tests.helpers import PROJECT_DIR, child_process_env
from tests.scheduler.process import stale_cart, wait_for

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="stops the PostgreSQL server: PostgreSQL only"),
    pytest.mark.skipif(
        os.environ.get("CART_FAULT_PG_RESTART") != "1",
        reason="stops the machine's shared PostgreSQL server; .ci/run runs it with CART_FAULT_PG_RESTART=1",
    ),
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

CLUSTER = sorted(os.listdir("/etc/postgresql"))[-1] if Path("/etc/postgresql").is_dir() else ""


def pg_cluster(action: str) -> None:
    subprocess.run(
        [
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            CLUSTER,
            "main",
            action,
            *(["-m", "fast"] if action == "stop" else []),
        ],
        check=True,
        timeout=60,
    )


def pg_ready() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False, timeout=10).returncode == 0


def abandoned(cart_id: int) -> bool:
    connection.close()  # a fresh connection each poll: the server may have restarted since the last one
    return Cart.objects.filter(pk=cart_id, status=Cart.Status.ABANDONED).exists()


def test_the_scheduler_survives_a_database_outage_and_sweeps_again_when_it_is_back(item, tmp_path):
    env = child_process_env(DJANGO_DEBUG="0", CART_SWEEP_INTERVAL_SECONDS="2")
    log_path = tmp_path / "scheduler.log"
    with log_path.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runapscheduler"], cwd=PROJECT_DIR, env=env, stdout=output, stderr=output
        )
    try:
        # Given the scheduler sweeping on its own
        before = stale_cart(item)
        wait_for(lambda: abandoned(before.pk), timeout=30, process=process, what="the first sweep")

        # When PostgreSQL stops for a while, under the running scheduler
        connection.close()
        pg_cluster("stop")
        try:
            time.sleep(8)  # several sweep intervals without a database
            assert process.poll() is None, "the scheduler died with the database"
        finally:
            pg_cluster("start")
        deadline = time.monotonic() + 60
        while not pg_ready():
            assert time.monotonic() < deadline, "PostgreSQL did not come back"
            time.sleep(0.5)

        # Then, once it is back, the same process sweeps again: a cart that goes stale now is abandoned and logged
        after = stale_cart(item)
        wait_for(lambda: abandoned(after.pk), timeout=60, process=process, what="a sweep after the restart")
        assert AbandonmentLog.objects.filter(cart_id__in=[before.pk, after.pk]).count() == 2

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if not pg_ready():
            pg_cluster("start")
    log = log_path.read_text()
    # And the outage was logged, not swallowed
    assert "Error getting due jobs" in log or "OperationalError" in log, log
