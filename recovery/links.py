"""The two links of a reminder: building their addresses, and what opening them does."""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from carts.models import Cart
from carts.services import cart_recover
from core.db import one_or_none
from users.models import User
from webhooks.models import Event

from .events import record_email_events
from .figures import record_clicked
from .models import RecoveryEmail
from .tokens import (
    RecoveryLinkCartCheckedOut,
    RecoveryLinkCartGone,
    RecoveryLinkError,
    make_recovery_token,
    make_unsubscribe_token,
    read_recovery_token,
    read_unsubscribe_token,
)

logger = logging.getLogger(__name__)

UNSUBSCRIBED_NOTE = "Cancelled: the shopper unsubscribed."


def recovery_url(*, cart_id: int, email_id: int | None) -> str:
    token = make_recovery_token(cart_id=cart_id, email_id=email_id)
    return settings.SITE_URL + reverse("recovery:recover", args=[token])


def unsubscribe_url(*, user_id: int) -> str:
    return settings.SITE_URL + reverse("recovery:unsubscribe", args=[make_unsubscribe_token(user_id=user_id)])


def redirect_url_for(*, cart_id: int) -> str:
    """CART_RECOVERY_REDIRECT_URL with the cart id: ``{cart_id}`` in the URL is replaced, otherwise ``cart_id=`` is
    added to its query string. Empty when the setting is unset."""
    base = settings.CART_RECOVERY_REDIRECT_URL
    if not base:
        return ""
    if "{cart_id}" in base:
        return base.replace("{cart_id}", str(cart_id))
    parts = urlsplit(base)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("cart_id", str(cart_id))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def cart_of_recovery_token(*, token: str) -> Cart:
    """The cart a recovery link names, read only (a mail scanner fetching the link changes nothing). Raises a
    RecoveryLinkError subclass for a bad, expired, unknown or checked-out cart's token."""
    cart_id, _ = read_recovery_token(token)
    cart = one_or_none(Cart.objects.select_related("user").filter(pk=cart_id))
    if cart is None:
        raise RecoveryLinkCartGone
    if cart.status == Cart.Status.CHECKED_OUT:
        raise RecoveryLinkCartCheckedOut
    return cart


def recovery_link_open(*, token: str, now: datetime) -> Cart:
    """The shopper used a recovery link (the page's POST, an action a person takes): reactivate the cart
    (``recovery_source="email_link"`` the first time it comes back) and record the click on its email. Raises a
    RecoveryLinkError subclass for a bad, expired, unknown or checked-out cart's token."""
    cart_id, email_id = read_recovery_token(token)
    with transaction.atomic():
        cart = one_or_none(Cart.objects.select_for_update().filter(pk=cart_id))
        if cart is None:
            raise RecoveryLinkCartGone
        if cart.status == Cart.Status.CHECKED_OUT:
            raise RecoveryLinkCartCheckedOut
        cart = cart_recover(cart_id=cart_id, now=now, source=Cart.RecoverySource.EMAIL_LINK)
        if email_id is not None:
            first_click = RecoveryEmail.objects.filter(pk=email_id, cart_id=cart_id, clicked_at__isnull=True).update(
                clicked_at=now
            )
            if first_click:
                record_clicked(email=RecoveryEmail.objects.get(pk=email_id))
                record_email_events(
                    event_type=Event.Type.RECOVERY_EMAIL_CLICKED,
                    occurred_at=now,
                    emails=RecoveryEmail.objects.filter(pk=email_id),
                )
    logger.info("recovery link opened for cart %d (email %s)", cart_id, email_id)
    return cart


def user_for_unsubscribe_token(*, token: str) -> User:
    user = one_or_none(User.objects.filter(pk=read_unsubscribe_token(token)))
    if user is None:
        raise RecoveryLinkError
    return user


def recovery_unsubscribe(*, token: str, now: datetime) -> User:
    """Opt the token's user out of recovery emails and cancel the reminders still waiting for them."""
    user = user_for_unsubscribe_token(token=token)
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(email_opt_out=True)
        RecoveryEmail.objects.filter(cart__user=user, status=RecoveryEmail.Status.PENDING).update(
            status=RecoveryEmail.Status.CANCELLED, note=UNSUBSCRIBED_NOTE, next_attempt_at=None
        )
    user.email_opt_out = True
    logger.info("user %d unsubscribed from recovery emails", user.pk)
    return user
