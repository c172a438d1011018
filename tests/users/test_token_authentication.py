"""The API token: checked against the database on every request (cartrecovery/authentication.py)."""

import pytest
from rest_framework.authtoken.models import Token

from tests.conftest import client_for
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
        "Token " + "a" * 41,  # longer than any key
        "Token " + "a" * 5000,
        "Token abc\x00def",  # a NUL byte would be a database error, not a 500
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

    Token.objects.filter(user=shopper).delete()

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
