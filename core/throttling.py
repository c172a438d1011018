"""Rate limits on the endpoints anyone can call without an account: registration and the token exchange.

DRF's ``ScopedRateThrottle``: a view names its scope (``throttle_scope = "register"``) and the rate comes from
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (DJANGO_THROTTLE_REGISTER, DJANGO_THROTTLE_TOKEN; "off" disables one).
Counts are kept in Django's cache per client address: REMOTE_ADDR, or the address DJANGO_NUM_PROXIES trusted proxies
wrote into X-Forwarded-For (a client cannot dodge the limit by sending its own X-Forwarded-For). With the default
per-process memory cache each web worker counts on its own; point DJANGO_CACHE_URL at a shared cache (Redis) to make
the limit exact across workers and machines.
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

DISABLED = {"", "off", "none", "0"}


class ClientAddressRateThrottle(ScopedRateThrottle):
    """ScopedRateThrottle, with three differences: the rate is read from settings at each request (DRF binds the
    rates when the module is imported, so a changed setting would never be seen), "off" disables a scope, and staff
    are never limited (the storefront's server registers shoppers with a staff token). Counted per client address,
    also for a caller with a token."""

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if rate is None or str(rate).strip().lower() in DISABLED:
            return None
        return rate

    def allow_request(self, request, view) -> bool:
        if request.user and request.user.is_staff:
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
