"""Coupons a reminder offers: each email of a step with an offer gets its own single-use code (carts.models.Coupon;
checkout redeems it, carts/services.py)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from carts.models import Coupon

from .models import CampaignStep, RecoveryEmail

# Without the look-alikes 0/O, 1/I/L and 5/S: a code read from an email and typed into a checkout form is typed right.
ALPHABET = "ABCDEFGHJKMNPQRTUVWXYZ2346789"
CODE_LENGTH = 12  # 29**12, about 3.5e17 codes: not found by guessing, even at the checkout's full speed


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def coupon_for(*, email: RecoveryEmail, step: CampaignStep, now: datetime) -> Coupon | None:
    """The email's coupon: issued the first time the email is rendered for sending (a retry keeps it); none when
    the step has no offer."""
    if email.coupon_id is not None:
        return email.coupon
    if not step.has_offer:
        return None
    for _ in range(5):  # a collision of two random codes is astronomically rare; a retry is cheap
        try:
            with transaction.atomic():
                coupon = Coupon.objects.create(
                    code=new_code(),
                    cart_id=email.cart_id,
                    kind=step.offer_kind,
                    value=step.offer_value,
                    min_total=step.offer_min_total,
                    expires_at=now + timedelta(days=step.offer_valid_days),
                    created_at=now,
                )
                RecoveryEmail.objects.filter(pk=email.pk).update(coupon=coupon)
        except IntegrityError:
            continue
        email.coupon = coupon
        return coupon
    raise RuntimeError("could not draw a unique coupon code")


def coupon_context(coupon: Coupon | None) -> dict | None:
    """The ``coupon`` placeholder of the email templates."""
    if coupon is None:
        return None
    expires = timezone.localtime(coupon.expires_at)  # the shop's day (DJANGO_TIME_ZONE)
    return {"code": coupon.code, "offer": coupon.offer_text(), "expires_on": f"{expires.day} {expires:%B %Y}"}


def usable_coupon(*, cart, now: datetime) -> Coupon | None:
    """The newest coupon a reminder of ``cart`` offered that still works (shown on the recovery page)."""
    return (
        Coupon.objects.filter(cart=cart, redeemed_at__isnull=True, expires_at__gt=now, email__sent_at__isnull=False)
        .order_by("-created_at")
        .first()
    )
