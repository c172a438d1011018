"""The API's schema and its docs pages: served locally, behind a token or a staff login."""

import json
import re

import pytest

from tests.helpers import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_api_docs_are_served_without_any_cdn(client, staff, path):
    client.force_login(staff)

    page = client.get(path).content.decode()

    assert "/static/drf_spectacular_sidecar/" in page
    # Every script, style sheet, font and image comes from this server: no address names another host. (Not a
    # search for "cdn" in the page: the page's random CSRF token spells it now and then.)
    assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page, flags=re.IGNORECASE) == []
    assert "googleapis" not in page
    assert "gstatic" not in page
    assert client.get("/api/schema/").status_code == 200


def test_the_schema_is_what_the_fuzz_tests_read(shopper):
    from tests.api.test_schema_fuzz import _served_schema

    # (Staff read a richer item resource, with is_active and created_at: the schema follows the caller.)
    served = client_for(shopper).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert served.status_code == 200
    assert json.loads(served.content) == _served_schema()


def test_the_schema_wants_a_token_and_the_docs_a_staff_login(client, shopper):
    # The contract: anonymous clients may register, list items and use a recovery link; nothing else.
    assert client.get("/api/schema/").status_code == 401
    for path in ("/api/docs/", "/api/redoc/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert client_for(shopper).get("/api/schema/").status_code == 200  # a storefront developer's token
