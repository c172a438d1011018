"""Simultaneous logins of one user cannot pass the per-user token limit (users/services.py locks the user's row).

On SQLite the IMMEDIATE transactions already queue the logins; the PostgreSQL run is the one that tests the lock."""

import pytest
from knox.crypto import hash_token
from knox.models import AuthToken

from tests.helpers import run_together
from tests.users.factories import StaffFactory
from users.services import user_token_issue

pytestmark = pytest.mark.django_db(transaction=True)

LOGINS = 8


def test_simultaneous_logins_never_pass_the_token_limit(settings):
    settings.API_TOKENS_PER_USER = 3
    staff = StaffFactory()

    outcomes = run_together([lambda: user_token_issue(user=staff)] * LOGINS)

    assert len(outcomes) == LOGINS  # every login got a token
    kept = AuthToken.objects.filter(user=staff)
    assert kept.count() == 3  # and the oldest were revoked, however the logins interleaved
    assert {token.digest for token in kept} <= {hash_token(token) for token in outcomes}
