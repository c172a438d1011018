"""The shop's identity: one row staff edit, whose first values come from the environment."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from core.db import one_or_none

from .models import Shop

SHOP_FIELDS = ("name", "storefront_url", "logo_url", "address", "support_email", "from_email", "reply_to")


def initial_values() -> dict[str, str]:
    return {
        "name": settings.CART_SHOP_NAME,
        "storefront_url": settings.CART_STOREFRONT_URL,
        "logo_url": settings.CART_SHOP_LOGO_URL,
        "address": settings.CART_SHOP_ADDRESS,
        "support_email": settings.CART_SHOP_SUPPORT_EMAIL,
        "from_email": settings.DEFAULT_FROM_EMAIL,
        "reply_to": settings.CART_SHOP_REPLY_TO,
    }


def current_shop() -> Shop:
    """The shop's identity; created from the CART_SHOP_* settings and DEFAULT_FROM_EMAIL the first time it is read."""
    shop = one_or_none(Shop.objects.filter(pk=1))
    if shop is not None:
        return shop
    try:
        with transaction.atomic():
            return Shop.objects.create(pk=1, **initial_values())
    except IntegrityError:  # another process created it first: the one row is the same
        return Shop.objects.get(pk=1)


def shop_update(*, changes: dict[str, str]) -> Shop:
    """Change the shop's identity (values already validated by the caller's form or serializer)."""
    with transaction.atomic():
        shop = current_shop()
        Shop.objects.select_for_update().filter(pk=shop.pk).values_list("pk", flat=True).get()
        for field, value in changes.items():
            if field not in SHOP_FIELDS:
                raise ValueError(f"not a shop field: {field}")
            setattr(shop, field, value)
        shop.save()
    return shop


def shop_context(shop: Shop) -> dict[str, str]:
    """The shop as the email templates and the shopper's pages see it (plain data)."""
    return {
        "name": shop.name,
        "storefront_url": shop.storefront_url,
        "logo_url": shop.logo_url,
        "address": shop.address,
        "support_email": shop.support_email,
    }
