"""From a shopper's checkout to a receiver on loopback: the event written with the change, delivered by the job,
verified by the standardwebhooks package."""

from datetime import UTC
from decimal import Decimal

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from carts.services import cart_add_item, cart_checkout
from tests.catalog.factories import ItemFactory
from tests.webhooks.factories import EndpointFactory
from tests.webhooks.receivers import answer
from webhooks.delivery import deliver_due_webhooks
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db


def test_a_checkout_reaches_the_shops_receiver_as_a_verified_cart_checked_out(settings, start_receiver, shopper):
    settings.CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    endpoint = EndpointFactory(event_types=["cart.checked_out"])
    verified = []

    def receive(handler, request):
        verified.append(Webhook(endpoint.secret).verify(request.body, request.headers))
        answer(handler, status=204)

    endpoint.url = start_receiver(receive).url()
    endpoint.save()
    item = ItemFactory(price=Decimal("6.25"))
    now = timezone.now()
    cart, _ = cart_add_item(user=shopper, item=item, quantity=2, now=now)
    cart_checkout(cart_id=cart.pk, user=shopper, now=now)

    deliver_due_webhooks(now=timezone.now())

    assert verified == [
        {
            "type": "cart.checked_out",
            "timestamp": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": {
                "cart_id": cart.pk,
                "user_id": shopper.pk,
                "email": shopper.email,
                "status": "checked_out",
                "item_count": 2,
                "total": "12.50",
                "step": None,
                "coupon": None,
            },
        }
    ]
    assert Delivery.objects.get().status == "delivered"
