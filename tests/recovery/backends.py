"""An email backend for tests that run the sender in another process: each message is written to a file in
CART_TEST_OUTBOX_DIR as it is accepted (what the mail server received), and accepting one takes a moment."""

import os
import time
import uuid
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend


class SlowFileOutbox(BaseEmailBackend):
    def send_messages(self, messages):
        outbox = Path(os.environ["CART_TEST_OUTBOX_DIR"])
        for message in messages:
            header = message.extra_headers.get("X-Cart-Recovery", "")  # "cart=12; step=1"
            fields = dict(part.strip().split("=") for part in header.split(";"))
            name = f"{fields['cart']}-{fields['step']}-{uuid.uuid4().hex}.eml"
            (outbox / name).write_bytes(message.message().as_bytes())
            time.sleep(float(os.environ.get("CART_TEST_OUTBOX_DELAY", "0.05")))
        return len(messages)


def delivered(outbox: Path) -> list[tuple[int, int]]:
    """(cart id, step) of every message the outbox received, one entry per message."""
    return [tuple(int(part) for part in path.name.split("-")[:2]) for path in outbox.glob("*.eml")]
