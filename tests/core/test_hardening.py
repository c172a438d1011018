"""Hostile input and deployment hardening: rate limits, body size, CORS, security headers, CSRF, `check --deploy`."""

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client, override_settings

from catalog.models import Item
from tests.helpers import PROJECT_DIR, client_for
from users.models import User

pytestmark = pytest.mark.django_db


def with_rates(**rates):
    """Settings with other throttle rates (the throttles read them at each request)."""
    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
        }
    )


def register(client, n: int, **extra):
    return client.post(
        "/user/register", {"name": f"Shopper {n}", "email": f"load{n}@example.com"}, format="json", **extra
    )


# --- Rate limits ------------------------------------------------------------------------------------------------


def test_rate_limits_are_on_by_default():
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {"register": "30/minute", "token": "10/minute"}


def test_the_31st_registration_in_a_minute_from_one_address_gets_429_with_retry_after(api_client):
    for n in range(30):
        assert register(api_client, n).status_code == 201
    refused = register(api_client, 30)
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("Request was throttled.")
    assert 0 < int(refused["Retry-After"]) <= 60
    assert User.objects.count() == 30
    # The seed route and the /api/ route share one limit: they are one endpoint.
    again = api_client.post("/api/users/register/", {"name": "X", "email": "x@example.com"}, format="json")
    assert again.status_code == 429


def test_another_address_is_not_held_back_by_the_first(api_client):
    for n in range(30):
        register(api_client, n)
    assert register(api_client, 30).status_code == 429
    assert register(api_client, 31, REMOTE_ADDR="10.0.0.2").status_code == 201


def test_a_forged_x_forwarded_for_does_not_dodge_the_limit(api_client):
    for n in range(30):
        register(api_client, n, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert register(api_client, 30, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429


def test_the_storefront_server_with_a_staff_token_registers_shoppers_without_limit(staff):
    storefront = client_for(staff)
    for n in range(35):
        assert register(storefront, n).status_code == 201


def test_password_guessing_on_the_token_endpoint_stops_after_10_attempts(api_client, staff):
    for _ in range(10):
        wrong = api_client.post("/api/auth/token/", {"email": staff.email, "password": "guess"}, format="json")
        assert wrong.status_code == 400
    right = api_client.post(
        "/api/auth/token/", {"email": staff.email, "password": "correct horse battery staple"}, format="json"
    )
    assert right.status_code == 429


def test_rates_follow_the_settings(api_client):
    with with_rates(register="2/minute"):
        assert [register(api_client, n).status_code for n in range(3)] == [201, 201, 429]
    with with_rates(register="off"):
        assert register(api_client, 3).status_code == 201


def test_rates_are_read_from_the_environment():
    env = {**os.environ, "DJANGO_THROTTLE_REGISTER": "5/hour", "DJANGO_THROTTLE_TOKEN": "off", "DJANGO_DEBUG": "1"}
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "cartrecovery.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "{'register': '5/hour', 'token': 'off'}"


# --- Request bodies ---------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_with_413_json_before_it_is_read(shopper_client, item):
    body = json.dumps({"item_id": item.pk, "quantity": 1, "note": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    response = shopper_client.post("/cart/add", body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert f"at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes" in response.json()["detail"]
    assert shopper_client.get("/cart/view").status_code == 404  # nothing was added


def test_a_body_just_under_the_limit_is_read(shopper_client, item):
    padding = settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 200
    body = json.dumps({"item_id": item.pk, "quantity": 2, "note": "x" * padding})
    assert len(body) <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = shopper_client.post("/cart/add", body, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["quantity"] == 2


def test_a_deeply_nested_or_malformed_body_is_a_400_not_a_500(shopper_client):
    nested = "[" * 100_000 + "]" * 100_000
    assert shopper_client.post("/cart/add", nested, content_type="application/json").status_code == 400
    assert shopper_client.post("/cart/add", b"\xff\xfe{", content_type="application/json").status_code == 400


@pytest.mark.parametrize(
    "address",
    [
        "/admin/carts/cart/?status__exact=%00",
        "/admin/recovery/recoveryemail/?status__exact=a%00b",
        "/admin/django_apscheduler/djangojobexecution/?status__exact=%00",
        "/api/carts/?status=%00",
    ],
)
def test_a_nul_in_the_query_string_is_a_400_json_not_a_database_error(staff, address):
    browser = Client()
    browser.force_login(staff)

    response = browser.get(address)

    assert response.status_code == 400
    assert response.json() == {"detail": "NUL characters are not allowed in the query string."}


def test_an_api_write_without_its_trailing_slash_is_a_json_404_not_an_html_redirect(shopper_client, item):
    # Following a 301 would turn the POST into a GET and lose the body.
    response = shopper_client.post("/api/carts/add", {"item_id": item.pk}, format="json")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert shopper_client.post("/api/carts/add/", {"item_id": item.pk}, format="json").status_code == 200


def test_a_read_without_its_trailing_slash_is_still_redirected(shopper_client):
    response = shopper_client.get("/api/carts")

    assert response.status_code == 301
    assert response["Location"] == "/api/carts/"


# --- CORS -------------------------------------------------------------------------------------------------------


@override_settings(CORS_ALLOWED_ORIGINS=["https://shop.example.com"])
def test_cors_answers_only_the_configured_origins(api_client):
    allowed = api_client.get("/item/all", HTTP_ORIGIN="https://shop.example.com")
    assert allowed["Access-Control-Allow-Origin"] == "https://shop.example.com"
    other = api_client.get("/item/all", HTTP_ORIGIN="https://evil.example.net")
    assert other.status_code == 200
    assert "Access-Control-Allow-Origin" not in other


@override_settings(CORS_ALLOWED_ORIGINS=["https://shop.example.com"])
def test_a_preflight_from_the_storefront_may_send_the_token_header(api_client):
    preflight = api_client.options(
        "/cart/add",
        HTTP_ORIGIN="https://shop.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "authorization" in preflight["Access-Control-Allow-Headers"]


def test_no_origin_is_allowed_unless_configured(api_client):
    assert settings.CORS_ALLOWED_ORIGINS == []
    response = api_client.get("/item/all", HTTP_ORIGIN="https://shop.example.com")
    assert "Access-Control-Allow-Origin" not in response


# --- Headers, cookies, CSRF -------------------------------------------------------------------------------------


def test_responses_carry_the_security_headers(api_client):
    response = api_client.get("/item/all")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_admin_session_cookie_is_http_only(staff):
    browser = Client()
    page = browser.post("/admin/login/", {"username": staff.email, "password": "correct horse battery staple"})
    assert page.status_code == 302
    assert browser.cookies[settings.SESSION_COOKIE_NAME]["httponly"]


def test_an_admin_form_posted_without_its_csrf_token_is_refused(staff):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff)
    form = {"name": "Kettle", "price": "12.00", "is_active": "on"}
    assert browser.post("/admin/catalog/item/add/", form).status_code == 403
    assert not Item.objects.filter(name="Kettle").exists()
    token = browser.get("/admin/catalog/item/add/").context["csrf_token"]
    assert browser.post("/admin/catalog/item/add/", {**form, "csrfmiddlewaretoken": token}).status_code == 302
    assert Item.objects.filter(name="Kettle").exists()


def test_the_api_used_with_a_session_cookie_needs_the_csrf_token_too(staff):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff)
    body = {"name": "Kettle", "price": "12.00"}
    refused = browser.post("/item/add", body, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    # A token is not a cookie a third-party page could ride on: no CSRF token needed.
    assert client_for(staff).post("/item/add", body, format="json").status_code == 201


@pytest.mark.parametrize("path", ["/cart/abandoned", "/admin/", "/admin/carts/cart/"])
def test_report_and_admin_pages_send_shoppers_to_the_admin_login(shopper, path):
    browser = Client()
    browser.force_login(shopper)
    page = browser.get(path)
    assert page.status_code == 302
    assert page["Location"].startswith("/admin/login/")


# --- Production settings ----------------------------------------------------------------------------------------


def production_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    return {
        **env,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        **extra,
    }


def test_check_deploy_passes_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
