"""Response headers: ``Cache-Control: no-store`` on everything Django answers (the staff pages and exports carry every
shopper's email), never on static files; a Content-Security-Policy on every page, with no inline script anywhere."""

import re

import pytest
from django.test import Client, override_settings

from recovery.tokens import make_recovery_token, make_unsubscribe_token
from tests.carts.factories import make_cart
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

STAFF_PAGES_AND_EXPORTS = [
    "/cart/abandoned",
    "/cart/report",
    "/cart/report?format=csv",
    "/api/report/metrics/",
    "/api/users/",
    "/user/all",
    "/admin/",
    "/admin/carts/cart/",
    "/admin/users/user/",
    "/admin/recovery/recoveryemail/",
]


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


@pytest.fixture
def staff_browser(staff) -> Client:
    browser = Client()
    browser.force_login(staff)
    return browser


@pytest.mark.parametrize("path", STAFF_PAGES_AND_EXPORTS)
def test_staff_pages_and_exports_are_never_stored_in_a_cache(admin_browser, path):
    response = admin_browser.get(path)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/user/register", {"name": "Ada", "email": "ada@example.com"}),  # carries the shopper's token
        ("get", "/cart/view", None),
        ("get", "/api/carts/", None),
        ("get", "/no/such/page", None),
    ],
)
def test_shoppers_answers_are_never_stored_in_a_cache_either(shopper, item, method, path, body):
    make_cart(user=shopper, lines=[(item, 1)])
    client = client_for(shopper)

    response = client.get(path) if method == "get" else client.post(path, body, format="json")

    assert response["Cache-Control"] == "no-store"


@override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
@pytest.mark.parametrize("path", ["/static/core/product.css", "/static/reports/report.css"])
def test_static_files_keep_their_own_caching(path):
    response = Client().get(path)  # a new client: whitenoise set up with the settings above

    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"]
    assert "public" in response["Cache-Control"]


def _pages(world) -> dict[str, str]:
    cart = world["cart"]
    return {
        "landing": "/",
        "admin login": "/admin/login/",
        "admin index": "/admin/",
        "admin list": "/admin/carts/cart/",
        "admin change form": f"/admin/carts/cart/{cart.pk}/change/",
        "report page": "/cart/abandoned",
        "recovery page": f"/cart/recover/{make_recovery_token(cart_id=cart.pk, email_id=None)}",
        "unsubscribe page": f"/cart/unsubscribe/{make_unsubscribe_token(user_id=cart.user_id)}",
        "bad recovery link": "/cart/recover/not-a-token",
        "swagger ui": "/api/docs/",
        "swagger ui script": "/api/docs/?script",
        "api answer": "/api/items/",
        "not found page": "/no/such/page",
    }


@pytest.fixture
def world(shopper, item, admin_browser):
    return {"cart": make_cart(user=shopper, lines=[(item, 2)], status="abandoned", abandoned_at=shopper.date_joined)}


@pytest.mark.parametrize(
    "page",
    [
        "landing",
        "admin login",
        "admin index",
        "admin list",
        "admin change form",
        "report page",
        "recovery page",
        "unsubscribe page",
        "bad recovery link",
        "swagger ui",
        "swagger ui script",
        "api answer",
        "not found page",
    ],
)
def test_every_page_has_a_content_security_policy_allowing_this_origin_only(world, admin_browser, page):
    response = admin_browser.get(_pages(world)[page])

    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    if response["Content-Type"].startswith("text/html"):
        html = response.content.decode()
        # Nothing the policy would block: no inline script or style element, no style attribute, no handler.
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
        assert re.findall(r"<style\b|\sstyle=|\son[a-z]+=", html) == []


def test_redoc_alone_may_add_inline_styles_and_its_search_worker(admin_browser):
    response = admin_browser.get("/api/redoc/")

    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'", "'unsafe-inline'"]
    assert directives["worker-src"] == ["'self'", "blob:"]
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b", response.content.decode()) == []
