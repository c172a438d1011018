"""`manage.py deliver_webhooks`: the cron alternative to the scheduler's webhooks job."""

import pytest
from django.core.management import call_command

from scheduler import jobs
from tests.webhooks.factories import DeliveryFactory, EndpointFactory, EventFactory
from tests.webhooks.receivers import answer
from webhooks.models import Attempt, Delivery

pytestmark = pytest.mark.django_db


def test_a_dry_run_says_what_waits_and_sends_nothing(capsys):
    EndpointFactory()
    EventFactory()
    DeliveryFactory()

    call_command("deliver_webhooks", "--dry-run")

    assert "1 events to fan out, 1 deliveries due, 0 stuck" in capsys.readouterr().out
    assert Delivery.objects.count() == 1
    assert not Attempt.objects.exists()


def test_the_command_and_the_job_deliver_what_is_due(settings, start_receiver, capsys):
    settings.CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    receiver = start_receiver(lambda handler, request: answer(handler, status=200))
    EndpointFactory(url=receiver.url())
    EventFactory()

    call_command("deliver_webhooks")
    assert "1 events fanned out (1 deliveries); 1 delivered" in capsys.readouterr().out

    EventFactory()
    result = jobs.webhooks_job.__wrapped__()

    assert result.delivered == 1
    assert len(receiver.requests) == 2
