"""One error format: JSON on the API's addresses, a page in the product's look everywhere else; a database error the
services did not expect is a logged 500, not a client "conflict"."""

import logging

import pytest
from django.db import IntegrityError
from django.test import Client

from carts import services
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/api/nothing-here/", "/user/nothing", "/item/nothing", "/cart/nothing", "/api/carts/999999/"]
)
def test_an_unknown_api_address_is_a_json_404(staff, path):
    response = client_for(staff).get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


@pytest.mark.parametrize("path", ["/nothing-here", "/shop-that-is-not-here/", "/admin-typo/"])
def test_an_unknown_page_is_an_html_page_in_the_products_look(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<h1>Page not found</h1>" in page
    assert "/static/core/product.css" in page


def test_an_unknown_admin_page_for_staff_is_an_html_404(admin_browser):
    response = admin_browser.get("/admin/no-such-app/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in response.content.decode()


def test_a_mangled_recovery_link_is_a_400_page_not_json(client):
    response = client.get("/cart/recover/not-a-token")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "This link is not valid" in response.content.decode()


def test_the_landing_page_links_the_admin_the_report_and_the_docs(client):
    response = client.get("/")

    assert response.status_code == 200
    page = response.content.decode()
    for link in ('href="/admin/"', 'href="/cart/abandoned"', 'href="/api/docs/"', 'href="/healthz"'):
        assert link in page


def test_the_landing_page_is_a_page_with_debug_on_too(client, settings):
    # With DEBUG on, a missing route at / would be Django's debug 404 listing every route of the project.
    settings.DEBUG = True

    response = client.get("/")

    assert response.status_code == 200
    assert b"Using the URLconf defined in" not in response.content


def test_an_integrity_error_the_services_do_not_expect_is_a_logged_500_not_a_conflict(
    shopper, item, monkeypatch, caplog
):
    def broken_add(**kwargs):
        raise IntegrityError('new row violates check constraint "some_rule_nobody_expected"')

    monkeypatch.setattr(services, "cart_add_item", broken_add)
    client = client_for(shopper)
    client.raise_request_exception = False

    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.post("/cart/add", {"item_id": item.pk}, format="json")

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
    assert any("some_rule_nobody_expected" in str(record.exc_info) for record in caplog.records if record.exc_info)


def test_a_server_error_on_a_page_is_an_html_page(client, monkeypatch):
    from core import views

    def broken(request):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "render", lambda *args, **kwargs: broken(None))
    browser = Client(raise_request_exception=False)

    response = browser.get("/")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "Something went wrong" in response.content.decode()
