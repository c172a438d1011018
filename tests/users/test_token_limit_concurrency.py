"""Simultaneous logins of one user cannot pass the per-user token limit (users/services.py locks the user's row)."""

import threading

import pytest
from django.db import connection
from knox.models import AuthToken

from cartrecovery.errors import Conflict
from tests.users.factories import StaffFactory
from users.services import user_token_issue

pytestmark = pytest.mark.django_db(transaction=True)

LOGINS = 8


def test_simultaneous_logins_never_pass_the_token_limit(settings):
    settings.API_TOKENS_PER_USER = 3
    staff = StaffFactory()
    start, outcomes, crashes = threading.Barrier(LOGINS), [], []

    def log_in():
        try:
            start.wait()
            user_token_issue(user=staff)
            outcomes.append("token")
        except Conflict:
            outcomes.append("refused")
        except Exception as exc:  # a crash in a thread must fail the test, not vanish
            crashes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=log_in) for _ in range(LOGINS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert crashes == []
    assert sorted(outcomes) == ["refused"] * (LOGINS - 3) + ["token"] * 3
    assert AuthToken.objects.filter(user=staff).count() == 3
