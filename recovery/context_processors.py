"""``shop`` in every template: the shop's identity for the shopper's pages (read only when a template uses it)."""

import logging

from django.db import DatabaseError
from django.utils.functional import SimpleLazyObject

from .models import Shop
from .shop import current_shop, initial_values

logger = logging.getLogger(__name__)


def _shop_or_fallback() -> Shop:
    try:
        return current_shop()
    except DatabaseError:
        # An error page must render even when the database is what failed.
        logger.warning("the shop identity could not be read; showing the configured one", exc_info=True)
        return Shop(**initial_values())


def shop(request) -> dict:
    return {"shop": SimpleLazyObject(_shop_or_fallback)}
