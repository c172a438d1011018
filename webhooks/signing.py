"""Signing outgoing webhooks with the Standard Webhooks scheme (https://www.standardwebhooks.com).

A receiver checks three headers: ``webhook-id`` (unique per message, stable across retries so it can deduplicate),
``webhook-timestamp`` (Unix seconds, so it can refuse replays older than its tolerance) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256>`` over ``"{id}.{timestamp}.{body}"``). Any Standard Webhooks library verifies them,
which is why the format is followed to the letter rather than invented here.
"""

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
SECRET_BYTES = 32  # the scheme asks for 24 to 64; 32 is SHA-256's output size
USER_AGENT = "CartRecovery-Webhooks/1.0"


class InvalidSecret(ValueError):
    """The endpoint's secret is not ``whsec_`` followed by base64 of at least one byte."""


def generate_secret() -> str:
    """Return a fresh endpoint secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _secret_key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSecret("webhook secret must start with 'whsec_'")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError as exc:  # binascii.Error is a ValueError
        raise InvalidSecret("webhook secret is not valid base64") from exc
    if not key:
        raise InvalidSecret("webhook secret is empty")
    return key


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``webhook-signature`` value, ``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}." + body>``.

    The body is signed as the exact bytes sent: re-serialising JSON after signing would break verification.
    """
    signed_content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_key(secret), signed_content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Return every header a delivery carries: the three Standard Webhooks headers, content type and user agent."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
