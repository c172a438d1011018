"""Staff add and edit users in the admin: addresses are stored in the form registration stores."""

import pytest

from tests.users.factories import UserFactory
from users.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough passphrase"


def _add(admin_browser, email: str):
    return admin_browser.post(
        "/admin/users/user/add/", {"email": email, "name": "Zoe", "password1": PASSWORD, "password2": PASSWORD}
    )


def test_an_address_added_in_the_admin_is_stored_normalised_and_logs_in(admin_browser, api_client):
    response = _add(admin_browser, "Zoe@\u00c9COLE.fr")

    assert response.status_code == 302, response.content.decode()[:2000]
    zoe = User.objects.get(name="Zoe")
    assert zoe.email == "Zoe@xn--cole-9oa.fr"  # école.fr in ASCII (users/emails.py)
    for typed in ("Zoe@\u00c9COLE.fr", "zoe@\u00e9cole.fr", "zoe@xn--cole-9oa.fr"):
        zoe.is_staff = True
        zoe.save(update_fields=["is_staff"])
        login = api_client.post("/api/auth/token/", {"email": typed, "password": PASSWORD}, format="json")
        assert login.status_code == 200, typed


def test_the_admin_refuses_a_new_address_that_only_looks_ascii(admin_browser):
    response = _add(admin_browser, "\u0131van@example.com")

    assert response.status_code == 200
    assert "Use an address whose part before the @ is plain ASCII." in response.content.decode()
    assert not User.objects.filter(name="Zoe").exists()


def test_a_user_stored_before_the_ascii_rule_can_still_be_edited(admin_browser):
    legacy = UserFactory.build(email="\u0131van@example.com", name="Ivan")
    legacy.save()  # as an older version let it in
    page = admin_browser.get(f"/admin/users/user/{legacy.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update(
        {
            "email": legacy.email,
            "name": "Ivan",
            "email_opt_out": "on",
            "date_joined_0": "2026-11-01",
            "date_joined_1": "10:00:00",
        }
    )
    data.pop("groups", None), data.pop("user_permissions", None), data.pop("date_joined", None)
    data.pop("last_login", None)

    response = admin_browser.post(f"/admin/users/user/{legacy.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:3000]
    legacy.refresh_from_db()
    assert legacy.email_opt_out is True
