"""The signed tokens of a reminder's two links, and the errors a link can meet.

A recovery token names the cart (and the email, to record its click) and expires after
CART_RECOVERY_LINK_MAX_AGE_SECONDS; an unsubscribe token names the user and never expires (an unsubscribe link must
keep working). Both are Django signatures (HMAC with DJANGO_SECRET_KEY): rotating the key revokes every token.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

from core.errors import ApplicationError

# The salts keep the names they had when tokens were made in the carts app: links already in shoppers' inboxes must
# keep working after an upgrade.
RECOVERY_LINK_SALT = "carts.recovery-link"
UNSUBSCRIBE_SALT = "carts.unsubscribe"


class RecoveryLinkError(ApplicationError):
    """A recovery or unsubscribe token that cannot be used, with the page's status, title and message."""

    status = 400
    title = "This link is not valid"
    message = "The link may have been cut or changed. Please use the link from your email as it is."


class RecoveryLinkExpired(RecoveryLinkError):
    status = 410
    title = "This link has expired"
    message = "Recovery links work for a limited time. Your cart may still be waiting in the shop."


class RecoveryLinkCartGone(RecoveryLinkError):
    status = 404
    title = "This cart no longer exists"
    message = "We could not find this cart any more."


class RecoveryLinkCartCheckedOut(RecoveryLinkError):
    status = 409
    title = "You already ordered this cart"
    message = "This cart has been checked out, so there is nothing left to recover. Thank you for your order!"


def make_recovery_token(*, cart_id: int, email_id: int | None) -> str:
    """A signed, timestamped token naming the cart (and the email, to record its click)."""
    return signing.dumps({"c": cart_id, "e": email_id}, salt=RECOVERY_LINK_SALT)


def read_recovery_token(token: str) -> tuple[int, int | None]:
    """(cart_id, email_id) of a token, or RecoveryLinkError / RecoveryLinkExpired."""
    try:
        payload = signing.loads(token, salt=RECOVERY_LINK_SALT, max_age=settings.CART_RECOVERY_LINK_MAX_AGE_SECONDS)
    except signing.SignatureExpired as exc:
        raise RecoveryLinkExpired from exc
    except (signing.BadSignature, ValueError, UnicodeError) as exc:
        raise RecoveryLinkError from exc
    return _payload_ids(payload, "c", "e")


def make_unsubscribe_token(*, user_id: int) -> str:
    """A signed token naming the user. It does not expire."""
    return signing.dumps({"u": user_id}, salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: str) -> int:
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, UnicodeError) as exc:
        raise RecoveryLinkError from exc
    user_id, _ = _payload_ids(payload, "u", None)
    return user_id


def _payload_ids(payload, key: str, optional_key: str | None) -> tuple[int, int | None]:
    if not isinstance(payload, dict) or not isinstance(payload.get(key), int):
        raise RecoveryLinkError
    second = payload.get(optional_key) if optional_key else None
    if second is not None and not isinstance(second, int):
        raise RecoveryLinkError
    return payload[key], second
