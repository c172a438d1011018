"""The permission matrix of the contract: every seed route and /api/ resource by anonymous, shopper, another shopper
and staff. A shopper never gets someone else's data: 403 or 404."""

import pytest
from django.contrib import admin
from django.db import models
from django.test import Client
from django.urls import reverse

from core.admin import OverflowSafeChangeListMixin
from tests.carts.factories import make_cart
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

ANON, OWNER, OTHER, STAFF = "anonymous", "owner", "other shopper", "staff"


@pytest.fixture
def world(shopper, other_shopper, staff, item):
    cart = make_cart(user=shopper, lines=[(item, 2)])
    return {
        "clients": {
            ANON: client_for(None),
            OWNER: client_for(shopper),
            OTHER: client_for(other_shopper),
            STAFF: client_for(staff),
        },
        "shopper": shopper,
        "cart": cart,
        "item": item,
    }


def call(world, role, method, url, body=None):
    client = world["clients"][role]
    url = url.format(user=world["shopper"].pk, cart=world["cart"].pk, item=world["item"].pk)
    if method == "get":
        return client.get(url)
    body = {
        k: v.format(user=world["shopper"].pk, cart=world["cart"].pk, item=world["item"].pk) for k, v in body.items()
    }
    return client.post(url, body, format="json")


MATRIX = [
    # method, url, body, {role: expected status}
    ("get", "/user/all", None, {ANON: 401, OWNER: 403, OTHER: 403, STAFF: 200}),
    ("get", "/item/all", None, {ANON: 200, OWNER: 200, OTHER: 200, STAFF: 200}),
    ("post", "/item/add", {"name": "Kettle", "price": "12.00"}, {ANON: 401, OWNER: 403, OTHER: 403, STAFF: 201}),
    ("post", "/cart/add", {"user_id": "{user}", "item_id": "{item}"}, {ANON: 401, OWNER: 200, OTHER: 403, STAFF: 200}),
    (
        "post",
        "/cart/remove",
        {"cart_id": "{cart}", "item_id": "{item}", "quantity": "1"},
        {ANON: 401, OWNER: 200, OTHER: 404, STAFF: 200},
    ),
    ("get", "/cart/view?user_id={user}", None, {ANON: 401, OWNER: 200, OTHER: 403, STAFF: 200}),
    ("post", "/cart/checkout", {"cart_id": "{cart}"}, {ANON: 401, OWNER: 200, OTHER: 404, STAFF: 200}),
    ("get", "/cart/report", None, {ANON: 401, OWNER: 403, OTHER: 403, STAFF: 200}),
    ("get", "/api/users/", None, {ANON: 401, OWNER: 403, OTHER: 403, STAFF: 200}),
    ("get", "/api/users/{user}/", None, {ANON: 401, OWNER: 403, OTHER: 403, STAFF: 200}),
    ("get", "/api/items/", None, {ANON: 200, OWNER: 200, OTHER: 200, STAFF: 200}),
    ("get", "/api/items/{item}/", None, {ANON: 200, OWNER: 200, OTHER: 200, STAFF: 200}),
    ("post", "/api/items/", {"name": "Kettle", "price": "12.00"}, {ANON: 401, OWNER: 403, OTHER: 403, STAFF: 201}),
    ("get", "/api/carts/", None, {ANON: 401, OWNER: 200, OTHER: 200, STAFF: 200}),
    ("get", "/api/carts/{cart}/", None, {ANON: 401, OWNER: 200, OTHER: 404, STAFF: 200}),
    ("get", "/api/abandonment-logs/", None, {ANON: 401, OWNER: 403, OTHER: 403, STAFF: 200}),
]


@pytest.mark.parametrize("role", [ANON, OWNER, OTHER, STAFF])
@pytest.mark.parametrize(("method", "url", "body", "expected"), MATRIX, ids=[f"{m} {u}" for m, u, _, _ in MATRIX])
def test_permission_matrix(world, role, method, url, body, expected):
    response = call(world, role, method, url, body)

    assert response.status_code == expected[role], response.content
    assert response["Content-Type"].startswith("application/json")
    if response.status_code in (403, 404):
        # Refusals carry a reason and nothing of the cart.
        assert set(response.json()) == {"detail"}


def test_another_shoppers_cart_list_shows_only_their_own_carts(world):
    response = call(world, OTHER, "get", "/api/carts/")

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_the_cart_list_user_filter_does_not_tell_a_shopper_which_user_ids_exist(world):
    # An existing user, an id no user has: the same empty answer (a 400 for one would reveal the other).
    existing = call(world, OTHER, "get", "/api/carts/?user={user}")
    missing = call(world, OTHER, "get", f"/api/carts/?user={world['shopper'].pk + 10_000}")

    assert (existing.status_code, existing.json()["results"]) == (200, [])
    assert (missing.status_code, missing.json()["results"]) == (200, [])


def test_staff_filter_the_cart_list_by_user(world):
    response = call(world, STAFF, "get", "/api/carts/?user={user}")

    assert [cart["cart_id"] for cart in response.json()["results"]] == [world["cart"].pk]


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1.5", str(10**30)])
def test_a_user_filter_that_is_not_an_id_is_400_naming_it(world, value):
    response = call(world, STAFF, "get", f"/api/carts/?user={value}")

    assert response.status_code == 400
    assert list(response.json()) == ["user"]


def test_registration_is_open_to_anyone(api_client):
    response = api_client.post("/user/register", {"name": "New", "email": "new@example.com"}, format="json")

    assert response.status_code == 201


@pytest.mark.parametrize(("who", "expected"), [(ANON, 302), (OWNER, 302), (STAFF, 200)])
def test_html_report_is_for_staff_and_sends_others_to_the_admin_login(world, staff, who, expected):
    browser = Client()
    if who == OWNER:
        browser.force_login(world["shopper"])
    elif who == STAFF:
        browser.force_login(staff)

    response = browser.get("/cart/abandoned")

    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(("who", "expected"), [(ANON, 302), (OWNER, 302), (STAFF, 200)])
def test_admin_is_for_staff_only(world, staff, who, expected):
    browser = Client()
    if who == OWNER:
        browser.force_login(world["shopper"])
    elif who == STAFF:
        browser.force_login(staff)

    assert browser.get("/admin/carts/cart/").status_code == expected


@pytest.mark.parametrize(
    "url",
    [
        "/admin/carts/cart/?last_updated__gte=0001-01-01T00:00:00%2B14:00",
        "/admin/carts/abandonmentlog/?abandoned_at__lt=0001-01-01T00:00:00%2B01:00",
        "/admin/recovery/recoveryemail/?planned_at__gte=9999-12-31T23:59:59-14:00",
        "/admin/catalog/item/?created_at__gte=0001-01-01T00:00:00%2B14:00",
        "/admin/users/user/?date_joined__gte=0001-01-01T00:00:00%2B14:00",
        "/admin/knox/authtoken/?created__gte=0001-01-01T00:00:00%2B14:00",
        "/admin/django_apscheduler/djangojobexecution/?run_time__gte=0001-01-01T00:00:00%2B14:00",
        "/admin/django_apscheduler/djangojob/?next_run_time__gte=0001-01-01T00:00:00%2B14:00",
    ],
)
def test_an_admin_list_filtered_on_a_date_past_year_1_or_9999_is_not_a_server_error(admin_browser, url):
    response = admin_browser.get(url)

    # PostgreSQL compares such a date and lists nothing; SQLite cannot convert it to UTC, and the admin sends the
    # staff member back to the plain list, as it does for any bad lookup.
    if response.status_code == 302:
        assert response["Location"] == url.split("?")[0] + "?e=1"
    else:
        assert response.status_code == 200


def _admin_date_fields() -> list[tuple[str, str]]:
    """(changelist URL name, date field) for every date or date-time field of every model in the admin."""
    return [
        (f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist", field.name)
        for model in admin.site._registry
        for field in model._meta.get_fields()
        if isinstance(field, models.DateField)
    ]


# Dates a filter or the date hierarchy cannot hold: the hierarchy's last year (its bounds run past 9999), months and
# days that do not exist or are empty, and offsets beyond ±15:59, which PostgreSQL refuses (no zone has one).
BAD_DATE_LOOKUPS = [
    "{field}__year=9999",
    "{field}__year=9999&{field}__month=12",
    "{field}__year=9999&{field}__month=12&{field}__day=31",
    "{field}__year=2026&{field}__month=13",
    "{field}__month=13",
    "{field}__day=",
    "{field}__gte=2026-01-01T00:00:00%2B16:00",
    "{field}__lt=2026-01-01T00:00:00-16:00",
    "{field}__gte=0001-01-01T00:00:00%2B14:00",
]


ADMIN_DATE_FIELDS = _admin_date_fields()


@pytest.mark.parametrize(
    ("changelist", "field"), ADMIN_DATE_FIELDS, ids=[f"{url} {field}" for url, field in ADMIN_DATE_FIELDS]
)
def test_no_admin_list_answers_a_date_it_cannot_hold_with_a_server_error(admin_browser, changelist, field):
    url = reverse(changelist)

    lookups = [lookup.format(field=field) for lookup in BAD_DATE_LOOKUPS]

    answers = {lookup: admin_browser.get(f"{url}?{lookup}") for lookup in lookups}

    # Listed (nothing matches), or refused as a bad lookup: the admin's redirect to the plain list with its error flag.
    assert {
        lookup: answer.status_code for lookup, answer in answers.items() if answer.status_code not in (200, 302)
    } == {}
    assert {answer["Location"] for answer in answers.values() if answer.status_code == 302} <= {f"{url}?e=1"}


def test_every_admin_list_with_dates_has_the_guard():
    unguarded = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if any(isinstance(field, models.DateField) for field in model._meta.get_fields())
        and not isinstance(model_admin, OverflowSafeChangeListMixin)
    ]

    assert unguarded == []
