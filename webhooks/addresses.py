"""Which endpoint URLs are accepted: checked when staff save one, and the parts that can change checked again when an
event is sent.

- **https**; plain **http** only where private addresses are allowed (``CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES``, on
  by default when ``DEBUG`` is on, off otherwise). Events carry shoppers' email addresses: over plain http anyone on
  the way reads them (the signature proves who sent a body, it does not hide it). The one setting covers both
  because both exist for the same case, a receiver inside the shop's own network or on a developer's machine.
- A host, a valid port, and no ``user:password@``: the secret signs each request, and credentials in a URL end up
  in logs.
- Where private addresses are refused, a host that *is* an address (``10.0.0.5``, ``[::1]``, ``2130706433``) and
  ``localhost`` names are refused when saved. Every other name is resolved and checked when each request is made
  (webhooks/transport.py), not here: DNS can change after the URL is saved.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from .transport import DEFAULT_PORTS, forbidden_reason

MAX_URL_LENGTH = 2000


def private_addresses_allowed() -> bool:
    return bool(settings.CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES)


def scheme_problem(url: str) -> str | None:
    """Why a request must not be sent to ``url`` because of its scheme, or None. Checked again before each request,
    so an http URL saved while private addresses were allowed is not used once they are not."""
    scheme = urlsplit(url).scheme.lower() if isinstance(url, str) else ""
    if scheme not in DEFAULT_PORTS:
        return "Only http and https URLs are accepted."
    if scheme == "http" and not private_addresses_allowed():
        return "Use an https URL: plain http is accepted only where private addresses are allowed."
    return None


def endpoint_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an endpoint's address, in words for the person who typed it, or None."""
    if not isinstance(url, str) or not url:
        return "Enter the URL of the receiver."
    if len(url) > MAX_URL_LENGTH:
        return f"A URL may have at most {MAX_URL_LENGTH} characters."
    if any(character.isspace() or not character.isprintable() for character in url):
        return "A URL may not contain spaces or control characters."
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        return "This is not a valid URL."
    problem = scheme_problem(url)
    if problem:
        return problem
    if parts.username is not None or parts.password is not None:
        return "Leave the user name and password out of the URL: each request is signed with the endpoint's secret."
    if not host:
        return "The URL has no host."
    if port == 0:
        return "The URL has an invalid port."
    try:
        host.encode("idna")
    except UnicodeError:
        return "The URL's host is not a valid host name."
    if not private_addresses_allowed():
        reason = _literal_address_reason(host)
        if reason:
            return f"The URL points to a {reason} address; only public addresses are accepted."
    return None


def validate_endpoint_url(value: str) -> None:
    """The model field's validator (the admin's form and the API's serializer both run it)."""
    problem = endpoint_url_problem(value)
    if problem:
        raise ValidationError(problem, code="invalid")


def _literal_address_reason(host: str) -> str | None:
    host = host.rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: always loopback
        return "loopback"
    address = _as_address(host)
    return forbidden_reason(address) if address is not None else None


def _as_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host *is*, without asking DNS: an IPv6 or dotted IPv4 literal, or one of the older IPv4
    spellings the resolver also reads as an address (``2130706433``, ``0x7f.1``, ``127.1``)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None
