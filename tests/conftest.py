from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.catalog.factories import ItemFactory
from tests.users.factories import StaffFactory, UserFactory


class Clock:
    """An explicit clock: tests move time instead of sleeping. Services take ``now=clock.now()``."""

    def __init__(self, start: datetime):
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta) -> datetime:
        self._now += timedelta(**delta)
        return self._now


@pytest.fixture
def clock() -> Clock:
    return Clock(timezone.now().replace(microsecond=0))


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def shopper(db):
    return UserFactory()


@pytest.fixture
def other_shopper(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def item(db):
    return ItemFactory()


def client_for(user) -> APIClient:
    if user is None:
        return APIClient()
    _, token = AuthToken.objects.create(user=user, expiry=None)
    return client_with_token(token)


def client_with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def shopper_client(shopper) -> APIClient:
    return client_for(shopper)


@pytest.fixture
def staff_client(staff) -> APIClient:
    return client_for(staff)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the cache: every test starts with none, so no test is throttled by another's
    requests (the limits stay on, as in production)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def admin_browser(staff) -> Client:
    """A browser logged in to the admin as a superuser (the admin's model permissions)."""
    staff.is_superuser = True
    staff.save(update_fields=["is_superuser"])
    browser = Client()
    browser.force_login(staff)
    return browser
