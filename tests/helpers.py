"""Helpers the tests share (fixtures are in conftest.py): an explicit clock, API clients with a token, the test
database's address for a child process, and one harness for tests that run code in threads."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from knox.models import AuthToken
from rest_framework.test import APIClient

PROJECT_DIR = Path(settings.BASE_DIR)


class Clock:
    """An explicit clock: tests move time instead of sleeping. Services take ``now=clock.now()``."""

    def __init__(self, start: datetime):
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta) -> datetime:
        self._now += timedelta(**delta)
        return self._now


def client_for(user) -> APIClient:
    """An API client with a new token of ``user`` (anonymous for None)."""
    if user is None:
        return APIClient()
    _, token = AuthToken.objects.create(user=user, expiry=None)
    return client_with_token(token)


def client_with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_database_url() -> str:
    """The URL of the test database this process uses, for a child process to open the same one."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or "5432"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{host}:{port}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test pytest should collect


def child_process_env(**overrides: str) -> dict[str, str]:
    """The environment of a ``manage.py`` child process on the test database: the real settings module (not the test
    one), as an operator runs it."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cartrecovery.settings",
        "DATABASE_URL": test_database_url(),
        "DJANGO_SECRET_KEY": "child-process-of-a-test",
        **overrides,
    }


class Threads:
    """Code run in threads, each with its own database connection (Django gives every thread one; it is closed when
    the thread ends). An exception in a thread is kept and fails the test instead of vanishing with the thread."""

    def __init__(self):
        self.threads: dict[str, threading.Thread] = {}
        self.results: dict[str, Any] = {}
        self.errors: dict[str, BaseException] = {}

    def start(self, name: str, target: Callable, *args) -> threading.Thread:
        def run():
            try:
                self.results[name] = target(*args)
            except BaseException as exc:  # reported by the test, not lost in the thread
                self.errors[name] = exc
            finally:
                connections.close_all()

        thread = threading.Thread(target=run, name=name)
        self.threads[name] = thread
        thread.start()
        return thread

    def join(self, *names: str, timeout: float = 60) -> None:
        """Wait for these threads (all when none is named); a thread still running after ``timeout`` fails."""
        for name in names or list(self.threads):
            self.threads[name].join(timeout=timeout)
            assert not self.threads[name].is_alive(), f"thread {name!r} did not finish within {timeout} s"

    def check(self) -> None:
        assert not self.errors, {name: repr(exc) for name, exc in self.errors.items()}


def run_together(tasks: Sequence[Callable[[], Any]], *, timeout: float = 60) -> list[Any]:
    """Run the tasks in threads started at the same moment (a barrier), wait for all, and return their results in
    order. Any exception in a task fails the test."""
    barrier = threading.Barrier(len(tasks))
    threads = Threads()

    def synchronised(task):
        barrier.wait(timeout=timeout)
        return task()

    for index, task in enumerate(tasks):
        threads.start(str(index), synchronised, task)
    threads.join(timeout=timeout)
    threads.check()
    return [threads.results[str(index)] for index in range(len(tasks))]


def figures_rebuilt() -> None:
    """Rebuild the report's figure rows from the carts and emails, as ``manage.py rebuild_report_figures`` does:
    for tests that write carts and emails directly (factories, ``update()``) instead of through the services, which
    keep the figures themselves."""
    from carts.figures import rebuild_figures
    from recovery.figures import rebuild_step_figures

    rebuild_figures()
    rebuild_step_figures()


class RolledBack(Exception):
    """Raised by run_rolled_back inside its transaction."""


def run_rolled_back(change: Callable[[], Any]) -> Any:
    """Run ``change`` in a transaction that is then rolled back (as if the request failed after it); return what
    ``change`` returned."""
    returned = []

    def run():
        with transaction.atomic():
            returned.append(change())
            raise RolledBack

    try:
        run()
    except RolledBack:
        return returned[0]
    raise AssertionError("the transaction was not rolled back")
