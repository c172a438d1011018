"""One mailbox, one account: addresses compared in the form the mail system delivers to (users/emails.py), and no
IP-address domains. Registration, login and the stored rows (users/migrations/0005)."""

import importlib

import pytest
from django.apps import apps
from django.test import Client

from tests.users.factories import STAFF_PASSWORD, StaffFactory, UserFactory
from users.emails import normalize_email
from users.models import User

migration = importlib.import_module("users.migrations.0005_email_mailbox_form")

pytestmark = pytest.mark.django_db

ADMIN_PASSWORD = "a long enough passphrase"
DUPLICATE = {"email": ["A user with this email already exists."]}

# (one spelling, another spelling of the same mailbox, the form stored)
SAME_MAILBOX = [
    ('"admin"@shop.test', "admin@shop.test", "admin@shop.test"),
    ('"ad\\min"@shop.test', "admin@shop.test", "admin@shop.test"),
    ('"first.last"@shop.test', "first.last@shop.test", "first.last@shop.test"),
    ("ada@bücher.example", "ada@xn--bcher-kva.example", "ada@xn--bcher-kva.example"),
    ("ada@BÜCHER.Example", "ada@xn--bcher-kva.example", "ada@xn--bcher-kva.example"),
    ('"john doe"@example.com', '"john\\ doe"@example.com', '"john\\ doe"@example.com'),
]


def _register(client, email, name="Ada"):
    return client.post("/user/register", {"name": name, "email": email}, format="json")


@pytest.mark.parametrize(("one", "other", "stored"), SAME_MAILBOX)
@pytest.mark.parametrize("first", ["one", "other"])
def test_two_spellings_of_one_mailbox_register_once(api_client, one, other, stored, first):
    spellings = (one, other) if first == "one" else (other, one)

    created = _register(api_client, spellings[0])
    again = _register(api_client, spellings[1], name="Ada again")

    assert created.status_code == 201, created.json()
    assert (again.status_code, again.json()) == (400, DUPLICATE)
    assert list(User.objects.values_list("email", flat=True)) == [stored]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ('"admin"@shop.test', "admin@shop.test"),
        ("Admin@Shop.Test", "Admin@shop.test"),  # the local part's case is the receiving server's to fold
        ("ada@bücher.example", "ada@xn--bcher-kva.example"),
        ("ada@straße.de", "ada@xn--strae-oqa.de"),  # IDNA 2008: not strasse.de, another domain
        ("ada@XN--BCHER-KVA.example", "ada@xn--bcher-kva.example"),
        ('"a\\"b"@example.com', '"a\\"b"@example.com'),  # needs its quotes, keeps them
        ('"j\\o\\hn doe"@example.com', '"john\\ doe"@example.com'),  # escapes only where Django's validator wants them
        ('"a@b"@example.com', '"a@b"@example.com'),
        ("no-at-sign", "no-at-sign"),
        ("ada@[127.0.0.1]", "ada@[127.0.0.1]"),
    ],
)
def test_an_address_takes_the_form_the_mail_system_delivers_to(typed, stored):
    assert normalize_email(typed) == stored


@pytest.mark.parametrize("email", ["a@[127.0.0.1]", "a@[IPv6:::1]", "ops@[10.0.0.5]"])
def test_an_ip_address_for_a_domain_is_refused(api_client, email):
    response = _register(api_client, email)

    assert response.status_code == 400
    assert list(response.json()) == ["email"]
    assert not User.objects.exists()


def test_a_domain_idna_does_not_allow_is_refused(api_client):
    response = _register(api_client, "ada@\u2603.net")  # a snowman: IDNA 2003 wrote it, IDNA 2008 does not

    assert response.status_code == 400
    assert response.json() == {"email": ["Use an address whose domain is a valid domain name."]}


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("admin@shop.test", '"admin"@shop.test'),
        ("admin@shop.test", "admin@SHOP.test"),
        ("ada@xn--bcher-kva.example", "ada@bücher.example"),
        ("ada@xn--bcher-kva.example", "ada@xn--bcher-kva.example"),
    ],
)
def test_staff_log_in_with_either_form_of_their_address(api_client, stored, typed):
    staff = StaffFactory(email=stored)

    token = api_client.post("/api/auth/token/", {"email": typed, "password": STAFF_PASSWORD}, format="json")
    browser = Client()
    admin_login = browser.post("/admin/login/?next=/admin/", {"username": typed, "password": STAFF_PASSWORD})

    assert token.status_code == 200, token.json()
    assert admin_login.status_code == 302
    assert browser.get("/admin/").wsgi_request.user == staff


def test_the_admin_refuses_an_ip_address_for_a_domain(admin_browser):
    response = admin_browser.post(
        "/admin/users/user/add/",
        {"email": "ops@[127.0.0.1]", "name": "Ops", "password1": ADMIN_PASSWORD, "password2": ADMIN_PASSWORD},
    )

    assert response.status_code == 200
    assert "not an IP address" in response.content.decode()
    assert not User.objects.filter(name="Ops").exists()


def test_the_admin_stores_a_new_address_in_its_mailbox_form(admin_browser):
    response = admin_browser.post(
        "/admin/users/user/add/",
        {"email": "ada@Bücher.example", "name": "Ada", "password1": ADMIN_PASSWORD, "password2": ADMIN_PASSWORD},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.get(name="Ada").email == "ada@xn--bcher-kva.example"


def _stored_as_typed(email: str) -> User:
    """A user as an older version saved it: no normalisation, no validation."""
    user = UserFactory.build(email=email)
    user.save()
    return user


def test_stored_addresses_take_their_mailbox_form(capsys):
    quoted = _stored_as_typed('"admin"@shop.test')
    unicode_domain = _stored_as_typed("ada@bücher.example")
    plain = _stored_as_typed("grace@example.com")
    literal = _stored_as_typed("ops@[127.0.0.1]")

    migration.normalize_stored_emails(apps, None)

    emails = dict(User.objects.values_list("pk", "email"))
    assert emails[quoted.pk] == "admin@shop.test"
    assert emails[unicode_domain.pk] == "ada@xn--bcher-kva.example"
    assert emails[plain.pk] == "grace@example.com"
    assert emails[literal.pk] == "ops@[127.0.0.1]"  # listed for staff, not changed
    assert f"IP address for a domain (user ids {literal.pk})" in capsys.readouterr().out


def test_a_stored_spelling_whose_mailbox_has_an_account_is_kept_and_logs_in_as_itself(api_client, capsys):
    owner = StaffFactory(email="admin@shop.test")
    twin = _stored_as_typed('"admin"@shop.test')
    twin.set_password(STAFF_PASSWORD)
    twin.is_staff = True
    twin.save()

    migration.normalize_stored_emails(apps, None)

    assert User.objects.get(pk=twin.pk).email == '"admin"@shop.test'
    assert User.objects.get(pk=owner.pk).email == "admin@shop.test"
    assert f"user ids {twin.pk}" in capsys.readouterr().out
    # Each is found under its own spelling: the address as typed is tried before its normalised form.
    login = api_client.post(
        "/api/auth/token/", {"email": '"admin"@shop.test', "password": STAFF_PASSWORD}, format="json"
    )
    assert login.status_code == 200
    assert User.objects.get_by_natural_key('"admin"@shop.test') == twin
    assert User.objects.get_by_natural_key("admin@shop.test") == owner
