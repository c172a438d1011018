"""Previews of a campaign step for staff: rendered with a real cart or a sample one, and a test sent to themselves.

A preview records nothing, and its links lead nowhere that changes anything: the recovery and unsubscribe links of a
preview are addresses that answer "this link is not valid", so a test email forwarded around cannot restore a
shopper's cart or unsubscribe anybody."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from carts.models import Cart, Coupon
from core.money import format_money

from .campaigns import compiled_step
from .coupons import coupon_context
from .messages import Rendered, greeting_name, lines_of, render_reminder
from .models import CampaignStep
from .shop import current_shop, shop_context
from .templating import sample_context

PREVIEW_RECOVERY_PATH = "/cart/recover/preview-link"
PREVIEW_UNSUBSCRIBE_PATH = "/cart/unsubscribe/preview-link"
PREVIEW_COUPON_CODE = "PREVIEW-CODE"


def describe_delay(seconds: int) -> str:
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


def preview_context(*, cart: Cart | None) -> dict:
    """The placeholders for a preview: a real cart's lines and total (or the sample's), the shop as it is, and links
    that change nothing."""
    context = sample_context()
    context.update(
        shop=shop_context(current_shop()),
        recovery_url=settings.SITE_URL + PREVIEW_RECOVERY_PATH,
        unsubscribe_url=settings.SITE_URL + PREVIEW_UNSUBSCRIBE_PATH,
        link_days=max(1, settings.CART_RECOVERY_LINK_MAX_AGE_SECONDS // 86_400),
        coupon=None,
    )
    if cart is not None:
        cart = Cart.objects.select_related("user").prefetch_related("lines__item").get(pk=cart.pk)
        context.update(
            shopper_name=greeting_name(cart.user),
            lines=lines_of(cart),
            total=format_money(cart.total),
            item_count=cart.item_count,
        )
    return context


def preview_coupon(*, step: CampaignStep, now: datetime) -> dict | None:
    """The ``coupon`` placeholder a step with an offer gets in a preview: the offer as the shopper would read it,
    with a code that can never be redeemed (a hyphen is outside the codes' alphabet)."""
    if not step.has_offer:
        return None
    sample = Coupon(
        code=PREVIEW_COUPON_CODE,
        kind=step.offer_kind,
        value=step.offer_value,
        min_total=step.offer_min_total,
        expires_at=now + timedelta(days=step.offer_valid_days),
    )
    return coupon_context(sample)


def render_step(*, step: CampaignStep, cart: Cart | None = None) -> Rendered:
    context = preview_context(cart=cart) | {"coupon": preview_coupon(step=step, now=timezone.now())}
    return render_reminder(compiled=compiled_step(step), context=context)


def test_message(*, rendered: Rendered, to: str) -> EmailMultiAlternatives:
    """The preview as an email to a member of staff, from the shop, marked as a test."""
    shop = current_shop()
    message = EmailMultiAlternatives(
        subject=f"[Test] {rendered.subject}",
        body=rendered.text,
        from_email=shop.from_email or settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[shop.reply_to] if shop.reply_to else None,
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


test_message.__test__ = False  # not a test for pytest
