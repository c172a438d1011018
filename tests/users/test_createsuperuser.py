"""createsuperuser --noinput reads the staff login from the environment (the contract's command)."""

from io import StringIO

import pytest
from django.core.management import call_command

from users.models import User

pytestmark = pytest.mark.django_db


def test_createsuperuser_noinput_reads_email_name_and_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "owner@shop.example")
    monkeypatch.setenv("DJANGO_SUPERUSER_NAME", "Shop Owner")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long enough passphrase")

    call_command("createsuperuser", "--noinput", stdout=StringIO())

    owner = User.objects.get(email="owner@shop.example")
    assert (owner.name, owner.is_staff, owner.is_superuser) == ("Shop Owner", True, True)
    assert owner.check_password("a long enough passphrase")
