"""The API token: kept as a digest only, checked against the database on every request
(cartrecovery/authentication.py, django-rest-knox's token table)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken

from tests.helpers import client_for, client_with_token
from tests.users.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_a_valid_token_authenticates_its_owner(shopper):
    response = client_for(shopper).get("/cart/view")

    assert response.status_code == 404  # authenticated: the shopper simply has no cart yet
    assert response.json() == {"detail": "This user has no open cart."}


@pytest.mark.parametrize(
    "header",
    [
        "Token not-a-real-token",
        "Token " + "a" * 40,
        "Token " + "a" * 64,  # a knox token's length
        "Token " + "a" * 75,  # longer than any token
        "Token " + "a" * 5000,
        "Token abc\x00def",  # only its digest reaches the database
        "Token 'OR'1'='1'--",
    ],
)
def test_an_unknown_or_malformed_token_is_401_json(api_client, header):
    api_client.credentials(HTTP_AUTHORIZATION=header)

    response = api_client.get("/cart/view")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_a_deleted_token_stops_working_at_once(shopper):
    client = client_for(shopper)
    assert client.get("/cart/view").status_code == 404

    AuthToken.objects.filter(user=shopper).delete()

    assert client.get("/cart/view").status_code == 401


def test_a_deactivated_users_token_stops_working_at_once(shopper):
    client = client_for(shopper)
    assert client.get("/cart/view").status_code == 404

    shopper.is_active = False
    shopper.save(update_fields=["is_active"])

    response = client.get("/cart/view")
    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted."}


def test_staff_rights_removed_are_gone_on_the_next_request(db):
    former_staff = StaffFactory()
    client = client_for(former_staff)
    assert client.get("/user/all").status_code == 200

    former_staff.is_staff = False
    former_staff.save(update_fields=["is_staff"])

    assert client.get("/user/all").status_code == 403


def test_the_token_is_read_with_one_query(shopper, django_assert_num_queries):
    client = client_for(shopper)

    with django_assert_num_queries(2):  # the token with its user, then the cart
        assert client.get("/cart/view").status_code == 404


def test_a_header_that_is_not_utf8_is_401_json(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token \xff\xfe")  # Latin-1 bytes, as a raw HTTP header may carry

    response = api_client.get("/cart/view")

    assert response.status_code == 401
    assert "invalid characters" in response.json()["detail"]


def test_the_database_keeps_a_digest_of_the_token_never_the_token(api_client):
    response = api_client.post("/user/register", {"name": "Ada", "email": "ada@example.com"}, format="json")
    token = response.json()["token"]

    stored = AuthToken.objects.get(user_id=response.json()["id"])
    assert stored.digest == hash_token(token)
    with connection.cursor() as cursor:  # every column of the row, as a copy of the database would show it
        cursor.execute(f"SELECT * FROM {AuthToken._meta.db_table}")
        row = cursor.fetchone()
    assert not any(token in str(value) for value in row)
    # A stolen digest is no key: sent as one, it is refused.
    assert client_with_token(stored.digest).get("/cart/view").status_code == 401


def test_an_expired_token_is_refused(shopper):
    _, token = AuthToken.objects.create(user=shopper, expiry=timedelta(hours=1))
    client = client_with_token(token)
    assert client.get("/cart/view").status_code == 404

    AuthToken.objects.filter(user=shopper).update(expiry=timezone.now() - timedelta(seconds=1))

    assert client.get("/cart/view").status_code == 401
