"""Fixtures every test may ask for. Helpers (the clock class, clients, thread harness) are in tests/helpers.py."""

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.catalog.factories import ItemFactory
from tests.helpers import Clock, client_for
from tests.users.factories import StaffFactory, UserFactory


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


@pytest.fixture
def campaign(db):
    """The active campaign a fresh installation starts with: two steps, an hour and a day after the abandonment."""
    from tests.recovery.factories import make_campaign

    return make_campaign(delays=(3600, 86_400))
