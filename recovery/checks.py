"""System checks of the recovery settings, run at start-up (``manage.py check``, runserver, migrate, gunicorn's
first request through Django's checks in CI)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, register


@register()
def recovery_redirect_url_is_a_web_address(app_configs, **kwargs):
    """CART_RECOVERY_REDIRECT_URL must be an http(s) address or a path on this site (``/shop/cart``): a recovery link
    reactivates the cart, then sends the shopper there; any other scheme breaks every link after the cart was
    restored."""
    url = settings.CART_RECOVERY_REDIRECT_URL
    if not url:
        return []
    parts = urlsplit(url)
    on_this_site = not parts.scheme and not parts.netloc and url.startswith("/") and not url.startswith("//")
    if not on_this_site and (parts.scheme.lower() not in ("http", "https") or not parts.netloc):
        return [
            Error(
                f"CART_RECOVERY_REDIRECT_URL must be an http(s) address or a path on this site, not {url!r}.",
                hint="Set it to the storefront's cart page, e.g. https://shop.example.com/cart?cart_id={cart_id}, "
                "or leave it empty.",
                id="recovery.E001",
            )
        ]
    return []
