"""Our signatures, checked by the independent Standard Webhooks reference library (standardwebhooks on PyPI)."""

import base64
import json
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from webhooks.signing import InvalidSecret, generate_secret, sign, signed_headers

PAYLOAD = {"type": "cart.abandoned", "data": {"cart_id": 42, "total": "19.90", "note": "crème brûlée"}}
BODY = json.dumps(PAYLOAD).encode()


def _headers_for(secret: str, *, body: bytes = BODY, timestamp: int | None = None) -> dict[str, str]:
    return signed_headers(
        secret=secret,
        msg_id="msg_2b8f1c",
        timestamp=int(time.time()) if timestamp is None else timestamp,
        body=body,
    )


def test_a_new_secret_is_whsec_and_base64_of_24_to_32_random_bytes():
    secrets = {generate_secret() for _ in range(20)}

    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) <= 32


def test_a_receiver_using_the_reference_library_accepts_our_headers():
    secret = generate_secret()

    headers = _headers_for(secret)

    assert Webhook(secret).verify(BODY, headers) == PAYLOAD


def test_the_headers_name_the_message_its_time_its_content_type_and_us():
    headers = _headers_for(generate_secret(), timestamp=1_700_000_000)

    assert headers["webhook-id"] == "msg_2b8f1c"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("CartRecovery-Webhooks/")


def test_a_tampered_body_is_rejected_by_the_receiver():
    secret = generate_secret()
    headers = _headers_for(secret)

    tampered = BODY.replace(b"19.90", b"0.01")

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, headers)


def test_a_receiver_holding_another_secret_rejects_the_delivery():
    headers = _headers_for(generate_secret())

    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(BODY, headers)


def test_a_replayed_delivery_older_than_the_receivers_tolerance_is_rejected():
    secret = generate_secret()
    ten_minutes_ago = int(time.time()) - 600  # the reference library tolerates five

    headers = _headers_for(secret, timestamp=ten_minutes_ago)

    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, headers)


def test_the_signature_covers_the_message_id_and_timestamp_not_only_the_body():
    secret = generate_secret()
    now = int(time.time())
    signature = sign(secret=secret, msg_id="msg_a", timestamp=now, body=BODY)

    assert signature != sign(secret=secret, msg_id="msg_b", timestamp=now, body=BODY)
    assert signature != sign(secret=secret, msg_id="msg_a", timestamp=now + 1, body=BODY)


@pytest.mark.parametrize("secret", ["", "whsec_", "sk_c2VjcmV0", "whsec_not base64!"])
def test_a_malformed_secret_is_refused_before_signing(secret):
    with pytest.raises(InvalidSecret):
        sign(secret=secret, msg_id="msg_a", timestamp=0, body=BODY)
