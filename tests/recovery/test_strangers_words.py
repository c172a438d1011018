"""No text a stranger typed goes out in the shop's name, and no domain gets a flood of reminders."""

from datetime import timedelta

import pytest
from django.core import mail

from carts.models import Cart
from recovery.messages import greeting_name
from recovery.models import RecoveryEmail
from recovery.sending import send_due_recovery_emails
from tests.carts.factories import make_cart
from tests.helpers import client_for
from tests.users.factories import UserFactory
from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("campaign")]

ATTACK = "Ada. Your order #4411 was flagged - confirm your card at https://evil.test/verify"


def remind(user, item, clock):
    make_cart(user=user, lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=clock.now())
    send_due_recovery_emails(now=clock.now() + timedelta(hours=1))
    return mail.outbox[-1]


def test_a_self_registered_shoppers_name_never_reaches_the_email(api_client, item, clock):
    # Given a stranger registering someone else's address with a message as the name
    response = api_client.post("/user/register", {"name": ATTACK, "email": "victim@example.org"}, format="json")
    assert response.status_code == 201
    victim = User.objects.get(email="victim@example.org")

    message = remind(victim, item, clock)

    html = message.alternatives[0][0]
    for part in (message.body, html, message.subject):
        assert "evil.test" not in part
        assert "4411" not in part
        assert "Ada" not in part
    assert message.body.startswith("Hello,\n")


def test_a_name_the_storefronts_server_registered_greets_by_its_first_word_only(staff, item, clock):
    response = client_for(staff).post("/user/register", {"name": ATTACK, "email": "ada@example.org"}, format="json")
    assert response.status_code == 201
    ada = User.objects.get(email="ada@example.org")
    assert ada.name_vouched

    message = remind(ada, item, clock)

    assert message.body.startswith("Hello Ada,\n")
    assert "evil.test" not in message.body
    assert "evil.test" not in message.alternatives[0][0]


@pytest.mark.parametrize(
    ("name", "greeting"),
    [
        ("Anne-Marie Dupont", "Anne-Marie"),
        ("O'Neil", "O'Neil"),
        ("Zoë", "Zoë"),
        ("Ada.", "Ada"),
        ("https://evil.test", ""),
        ("4411", ""),
        ("<b>Bob</b>", ""),
        ("Bob!!!", "Bob"),
        ("a" * 31, ""),
        ("", ""),
        ("--", ""),
    ],
)
def test_the_greeting_is_a_first_name_reduced_to_letters(name, greeting):
    assert greeting_name(UserFactory.build(name=name, name_vouched=True)) == greeting


def test_without_a_vouched_name_there_is_no_greeting_name():
    assert greeting_name(UserFactory.build(name="Ada", name_vouched=False)) == ""


def test_the_recovery_page_greets_like_the_email(client, item, clock):
    from recovery.tokens import make_recovery_token

    stranger = UserFactory(name=ATTACK, name_vouched=False)
    cart = make_cart(user=stranger, lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=clock.now())

    page = client.get(f"/cart/recover/{make_recovery_token(cart_id=cart.pk, email_id=None)}").content.decode()

    assert "evil.test" not in page
    assert "4411" not in page


def test_reminders_to_one_domain_stop_at_the_hourly_cap_and_the_rest_wait(settings, item, clock):
    settings.CART_RECOVERY_EMAILS_PER_DOMAIN_PER_HOUR = 3
    for n in range(5):
        make_cart(
            user=UserFactory(email=f"person{n}@target.example"),
            lines=[(item, 1)],
            status=Cart.Status.ABANDONED,
            abandoned_at=clock.now(),
        )
    elsewhere = make_cart(lines=[(item, 1)], status=Cart.Status.ABANDONED, abandoned_at=clock.now())
    now = clock.now() + timedelta(hours=1)

    first = send_due_recovery_emails(now=now)

    assert (first.sent, first.deferred) == (4, 2)
    to_target = [m for m in mail.outbox if m.to[0].endswith("@target.example")]
    assert len(to_target) == 3
    assert elsewhere.user.email in [m.to[0] for m in mail.outbox]
    waiting = RecoveryEmail.objects.filter(status="pending")
    assert waiting.count() == 2
    assert all(
        note.startswith("Deferred: 3 reminders went to target.example")
        for note in waiting.values_list("note", flat=True)
    )

    assert send_due_recovery_emails(now=now + timedelta(minutes=10)).sent == 0  # still within the hour
    later = send_due_recovery_emails(now=now + timedelta(hours=1, minutes=1))
    assert later.sent == 2
    assert len([m for m in mail.outbox if m.to[0].endswith("@target.example")]) == 5
