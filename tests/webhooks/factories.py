from decimal import Decimal

import factory
from django.utils import timezone

from webhooks.delivery import new_webhook_id
from webhooks.models import Delivery, Endpoint, Event


class EndpointFactory(factory.django.DjangoModelFactory):
    """An active endpoint taking every event type, with a fresh secret (made by Endpoint.save)."""

    class Meta:
        model = Endpoint

    url = "https://hooks.example.com/cart-recovery"
    description = factory.Sequence(lambda n: f"Receiver {n}")


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    type = Event.Type.CART_ABANDONED
    occurred_at = factory.LazyFunction(timezone.now)
    cart_id = factory.Sequence(lambda n: 1000 + n)
    user_id = factory.Sequence(lambda n: 500 + n)
    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    status = "abandoned"
    item_count = 2
    total = Decimal("39.98")


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    event = factory.SubFactory(EventFactory, fanned_out_at=factory.LazyFunction(timezone.now))
    endpoint = factory.SubFactory(EndpointFactory)
    webhook_id = factory.LazyFunction(new_webhook_id)
    status = Delivery.Status.PENDING
    created_at = factory.LazyFunction(timezone.now)
    next_attempt_at = factory.LazyAttribute(lambda delivery: delivery.created_at)
