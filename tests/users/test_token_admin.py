"""Staff see who holds API tokens and revoke them in the admin; the secret itself is nowhere to be seen."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken

from tests.helpers import client_with_token
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def _issue(count: int) -> list[str]:
    return [AuthToken.objects.create(user=UserFactory(), expiry=None)[1] for _ in range(count)]


def test_the_token_list_names_each_holder_with_the_same_number_of_queries_for_3_or_60_tokens(admin_browser):
    def queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            response = admin_browser.get("/admin/knox/authtoken/")
        assert response.status_code == 200
        return len(captured), response.content.decode()

    tokens = _issue(3)
    with_3, html = queries()
    tokens += _issue(57)
    with_60, html = queries()

    assert with_3 == with_60
    assert all(token[:15] in html for token in tokens)  # knox's public prefix tells the tokens apart
    assert not any(token in html for token in tokens)
    assert all(holder.email in html for holder in (t.user for t in AuthToken.objects.select_related("user")))


def test_tokens_are_not_made_in_the_admin(admin_browser):
    assert admin_browser.get("/admin/knox/authtoken/add/").status_code == 403


def test_deleting_a_token_in_the_admin_revokes_it(admin_browser):
    (token,) = _issue(1)
    client = client_with_token(token)
    assert client.get("/api/carts/").status_code == 200
    stored = AuthToken.objects.get()

    response = admin_browser.post(f"/admin/knox/authtoken/{stored.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert client.get("/api/carts/").status_code == 401


def test_the_token_pages_are_staff_only(shopper):
    browser = Client()
    browser.force_login(shopper)

    response = browser.get("/admin/knox/authtoken/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
