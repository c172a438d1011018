import pytest
from knox.crypto import hash_token
from knox.models import AuthToken

from tests.helpers import client_for, client_with_token
from tests.users.factories import STAFF_PASSWORD, StaffFactory, UserFactory
from users.models import User

pytestmark = pytest.mark.django_db


def test_registration_returns_the_shoppers_id_and_a_working_token(api_client, item):
    response = api_client.post("/user/register", {"name": "Ada", "email": "ada@example.com"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"message", "id", "token"}
    user = User.objects.get(pk=body["id"])
    assert (user.name, user.email, user.is_staff, user.has_usable_password()) == (
        "Ada",
        "ada@example.com",
        False,
        False,
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert api_client.post("/cart/add", {"item_id": item.pk}, format="json").status_code == 200


@pytest.mark.parametrize("email", ["ada@example.com", "ADA@Example.com", "  ada@example.com "])
def test_an_email_registers_once_whatever_its_case(api_client, email):
    UserFactory(email="ada@example.com")

    response = api_client.post("/user/register", {"name": "Ada", "email": email}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("existing", "look_alike"),
    [
        ("sam@example.com", "\u017fam@example.com"),  # long s
        ("katherine@example.com", "\u212aatherine@example.com"),  # Kelvin sign
        ("\u017fam@example.com", "sam@example.com"),  # the look-alike first: it was kept as plain "sam"
    ],
)
def test_a_look_alike_address_is_the_same_account(api_client, existing, look_alike):
    first = api_client.post("/user/register", {"name": "One", "email": existing}, format="json")
    assert first.status_code == 201

    response = api_client.post("/user/register", {"name": "Two", "email": look_alike}, format="json")

    assert response.status_code == 400
    assert response.json() == {"email": ["A user with this email already exists."]}
    assert User.objects.get().email.isascii()


def test_an_address_with_control_characters_is_refused(api_client):
    response = api_client.post("/user/register", {"name": "Ada", "email": '"a\u0007b"@example.com'}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()
    assert not User.objects.exists()


def test_a_letter_that_only_looks_ascii_before_the_at_is_refused(api_client):
    UserFactory(email="ida@example.com")

    response = api_client.post("/user/register", {"name": "Ida", "email": "\u0131da@example.com"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"email": ["Use an address whose part before the @ is plain ASCII."]}


def test_a_login_never_matches_two_users_whose_addresses_differ_only_in_case_folding(api_client):
    # The dotless i (U+0131) has "I" as its upper case. A database from before the ASCII rule may hold both users;
    # the unique constraint compares LOWER() and allows them, and a login compared with UPPER() (email__iexact on
    # PostgreSQL) matched both: a 500.
    dotless = StaffFactory.build(email="\u0131da@example.com")
    dotless.save()  # as an older version let it in, without today's validation
    ida = StaffFactory(email="ida@example.com")

    response = api_client.post(
        "/api/auth/token/", {"email": "ida@example.com", "password": STAFF_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert AuthToken.objects.get().user == ida


def test_staff_find_a_user_by_email_in_any_case(staff_client):
    ada = UserFactory(email="ada@example.com")

    response = staff_client.get("/api/users/", {"email__iexact": "ADA@Example.com"})

    assert [row["id"] for row in response.json()["results"]] == [ada.pk]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@example.com"}, "name"),
        ({"name": "Ada"}, "email"),
        ({"name": "   ", "email": "a@example.com"}, "name"),
        ({"name": "Ada", "email": "not-an-email"}, "email"),
        ({"name": "x" * 151, "email": "a@example.com"}, "name"),
    ],
)
def test_registration_names_the_bad_field(api_client, body, field):
    response = api_client.post("/user/register", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not User.objects.exists()


def test_staff_obtain_a_working_token_with_email_and_password(api_client):
    staff = StaffFactory(email="boss@example.com")

    response = api_client.post(
        "/api/auth/token/", {"email": "Boss@example.com", "password": STAFF_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    token = response.json()["token"]
    assert AuthToken.objects.get(user=staff).digest == hash_token(token)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/user/all").status_code == 200


def test_each_login_gets_its_own_token_and_the_earlier_ones_keep_working(api_client):
    StaffFactory(email="boss@example.com")
    credentials = {"email": "boss@example.com", "password": STAFF_PASSWORD}

    first, second = (api_client.post("/api/auth/token/", credentials, format="json").json()["token"] for _ in "12")

    assert first != second
    for token in (first, second):
        assert client_with_token(token).get("/user/all").status_code == 200


def test_a_login_at_the_token_limit_revokes_the_oldest_token_and_keeps_the_others(api_client, settings, caplog):
    settings.API_TOKENS_PER_USER = 3
    staff = StaffFactory(email="boss@example.com")
    credentials = {"email": "boss@example.com", "password": STAFF_PASSWORD}
    oldest, *newer = (api_client.post("/api/auth/token/", credentials, format="json").json()["token"] for _ in "123")

    response = api_client.post("/api/auth/token/", credentials, format="json")

    assert response.status_code == 200  # a storefront that logs in at every start is never locked out
    assert AuthToken.objects.filter(user=staff).count() == 3
    assert client_with_token(oldest).get("/user/all").status_code == 401
    for token in [*newer, response.json()["token"]]:
        assert client_with_token(token).get("/user/all").status_code == 200
    assert f"revoked the oldest API tokens {oldest[:15]}…" in caplog.text


@pytest.mark.parametrize("password", ["wrong", ""])
def test_bad_credentials_get_400(api_client, password):
    StaffFactory(email="boss@example.com")

    response = api_client.post("/api/auth/token/", {"email": "boss@example.com", "password": password}, format="json")

    assert response.status_code == 400
    assert "token" not in response.json()


def test_a_shopper_without_password_cannot_obtain_a_token_by_password(api_client):
    UserFactory(email="shop@example.com")

    response = api_client.post("/api/auth/token/", {"email": "shop@example.com", "password": "!"}, format="json")

    assert response.status_code == 400


def test_staff_list_all_users(staff):
    shoppers = UserFactory.create_batch(3)

    response = client_for(staff).get("/user/all")

    assert response.status_code == 200
    assert response.json() == [
        {"id": user.pk, "name": user.name, "email": user.email}
        for user in sorted([staff, *shoppers], key=lambda u: u.pk)
    ]


def test_an_invalid_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert api_client.get("/cart/view").status_code == 401


@pytest.mark.parametrize(
    "name",
    [
        "customer,\n\nYour order was flagged. Confirm your card at https://evil.example",  # a fake email of its own
        "Ada\rLovelace",
        "Ada\tLovelace",
        "Ada\u2028Lovelace",  # line separator
        "Ada \u202egnp.exe",  # right-to-left override
        "Ada\u200bLovelace",  # zero-width space
        "Ada\x1b[31mLovelace",  # terminal escape
    ],
)
def test_a_name_must_be_one_line_of_visible_text(api_client, name):
    # The name is printed in reminder emails sent to the address given, which nobody has verified.
    response = api_client.post("/user/register", {"name": name, "email": "someone@example.com"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    assert not User.objects.filter(email="someone@example.com").exists()


@pytest.mark.parametrize("name", ["Zoë O'Brien-Šimić", "李小龍", "José María de la Cruz", "Ada (work)"])
def test_names_in_any_script_are_welcome(api_client, name):
    response = api_client.post("/user/register", {"name": name, "email": "someone@example.com"}, format="json")

    assert response.status_code == 201
    assert User.objects.get(email="someone@example.com").name == name


def test_the_admin_refuses_a_multi_line_name_too():
    from django.core.exceptions import ValidationError

    user = UserFactory()
    user.name = "Ada\nLovelace"

    with pytest.raises(ValidationError, match="single line"):
        user.full_clean()
