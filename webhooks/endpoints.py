"""Use cases that change endpoints: the API calls these; the admin saves the same fields through its model form, whose
URL is checked by the same validator (webhooks/addresses.py) and whose secret is made by ``Endpoint.save``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import transaction

from core.errors import InvalidInput

from .addresses import endpoint_url_problem
from .models import Endpoint, Event
from .signing import generate_secret

EDITABLE_FIELDS = ("url", "description", "event_types", "active")


def clean_event_types(event_types: Iterable[str]) -> list[str]:
    """The subscribed types in the order of ``Event.Type``, each once; an unknown type is bad input."""
    chosen = list(event_types)
    unknown = [value for value in chosen if value not in Event.Type.values]
    if unknown:
        raise InvalidInput(f"Unknown event type {unknown[0]!r}.", field="event_types")
    return [value for value in Event.Type.values if value in chosen]


def _check_url(url: str) -> None:
    problem = endpoint_url_problem(url)
    if problem:
        raise InvalidInput(problem, field="url")


def endpoint_create(
    *, url: str, now: datetime, description: str = "", event_types: Sequence[str] = (), active: bool = True
) -> Endpoint:
    """A new endpoint with a fresh secret (``whsec_…``), which the caller shows once."""
    _check_url(url)
    return Endpoint.objects.create(
        url=url,
        description=description,
        event_types=clean_event_types(event_types),
        active=active,
        secret=generate_secret(),
        created_at=now,
    )


def endpoint_update(*, endpoint: Endpoint, **changes) -> Endpoint:
    """Change an endpoint's URL, description, subscribed types or activity. The secret changes only by rotation."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if "url" in changes:
        _check_url(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = clean_event_types(changes["event_types"])
    for field, value in changes.items():
        setattr(endpoint, field, value)
    if changes:
        endpoint.save(update_fields=list(changes))
    return endpoint


def endpoint_rotate_secret(*, endpoint_ids: Sequence[int]) -> dict[int, str]:
    """Give each endpoint a new secret, effective for every request from now on (retries included). Returns the new
    secrets by endpoint id, for the caller to show once."""
    secrets: dict[int, str] = {}
    with transaction.atomic():
        for endpoint_id in sorted(set(endpoint_ids)):
            secret = generate_secret()
            if Endpoint.objects.filter(pk=endpoint_id).update(secret=secret):
                secrets[endpoint_id] = secret
    return secrets


def endpoint_delete(*, endpoint: Endpoint) -> None:
    """Delete an endpoint with its deliveries and their attempts (the events stay for the other endpoints)."""
    endpoint.delete()
