"""The receiver in README.md's webhooks section, run as written against real deliveries: it accepts ours, refuses a
forgery, and handles a retry once."""

import re

import pytest
from django.utils import timezone

from tests.helpers import PROJECT_DIR
from tests.webhooks.factories import EndpointFactory, EventFactory
from tests.webhooks.receivers import answer
from webhooks.delivery import deliver_due_webhooks, delivery_replay
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db


def _readme_receiver(secret: str) -> dict:
    section = (PROJECT_DIR / "README.md").read_text().split("**Verifying**", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    handled: list[tuple[str, dict]] = []
    seen: set[str] = set()

    def already_processed(webhook_id: str) -> bool:
        if webhook_id in seen:
            return True
        seen.add(webhook_id)
        return False

    namespace = {
        "WEBHOOK_SECRET": secret,
        "already_processed": already_processed,
        "process": lambda event_type, data: handled.append((event_type, data)),
    }
    exec(code, namespace)  # noqa: S102 (the README's own example, run as documented)
    assert len([line for line in code.splitlines() if line.strip()]) <= 10  # "ten lines of Python"
    return {"receive": namespace["receive"], "handled": handled}


def test_the_readme_receiver_verifies_a_delivery_handles_it_once_and_refuses_a_forgery(settings, start_receiver):
    settings.CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    endpoint = EndpointFactory()
    readme = _readme_receiver(endpoint.secret)
    receiver = start_receiver(
        lambda handler, request: answer(handler, status=readme["receive"](request.body, request.headers))
    )
    endpoint.url = receiver.url()
    endpoint.save()
    event = EventFactory()

    deliver_due_webhooks(now=timezone.now())
    delivery = Delivery.objects.get()
    replayed = delivery_replay(delivery_id=delivery.pk, now=timezone.now())  # the same webhook-id again

    assert replayed.status == "delivered"
    assert [(event_type, data["cart_id"]) for event_type, data in readme["handled"]] == [
        ("cart.abandoned", event.cart_id)
    ]
    forged = dict(receiver.requests[0].headers, **{"webhook-id": "msg_forged"})
    assert readme["receive"](receiver.requests[0].body, forged) == 400
