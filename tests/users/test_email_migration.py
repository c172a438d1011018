"""users/migrations/0004: addresses stored before normalisation are brought to the form registration stores."""

import importlib

import pytest
from django.apps import apps
from knox.crypto import hash_token
from knox.models import AuthToken

from tests.users.factories import STAFF_PASSWORD, StaffFactory, UserFactory
from users.models import User

migration = importlib.import_module("users.migrations.0004_email_rules")

pytestmark = pytest.mark.django_db


def _stored_as_typed(factory, email: str) -> User:
    """A user as an older version saved it: no normalisation, no validation."""
    user = factory.build(email=email)
    user.save()
    return user


def test_stored_look_alikes_and_domains_in_capitals_take_the_normalised_form(db):
    long_s = _stored_as_typed(UserFactory, "\u017fam@example.com")
    fullwidth = _stored_as_typed(UserFactory, "ops@\uff45xample.com")
    capitals = _stored_as_typed(UserFactory, "Boss@EXAMPLE.COM")
    plain = UserFactory(email="ada@example.com")

    migration.normalize_stored_emails(apps, None)

    emails = dict(User.objects.values_list("pk", "email"))
    assert emails[long_s.pk] == "sam@example.com"
    assert emails[fullwidth.pk] == "ops@example.com"
    assert emails[capitals.pk] == "Boss@example.com"
    assert emails[plain.pk] == "ada@example.com"


def test_an_address_whose_normalised_form_is_taken_is_kept_and_still_logs_in(api_client, capsys):
    StaffFactory(email="sam@example.com")
    look_alike = _stored_as_typed(StaffFactory, "\u017fam@example.com")
    twin_a = _stored_as_typed(UserFactory, "kim@\uff45xample.com")
    twin_b = _stored_as_typed(UserFactory, "kim@EXAMPLE.com")

    migration.normalize_stored_emails(apps, None)

    look_alike.refresh_from_db()
    assert look_alike.email == "\u017fam@example.com"
    # Both normalise to kim@example.com: one takes that form, the other keeps its own.
    assert {User.objects.get(pk=twin_a.pk).email, User.objects.get(pk=twin_b.pk).email} == {
        "kim@example.com",
        "kim@\uff45xample.com",
    }
    assert f"user ids {look_alike.pk}" in capsys.readouterr().out
    response = api_client.post(
        "/api/auth/token/", {"email": "\u017fam@example.com", "password": STAFF_PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert AuthToken.objects.get(digest=hash_token(response.json()["token"])).user == look_alike
