"""Rate limits on the endpoints anyone can call without an account: registration and the token exchange.

Rates come from settings (``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, filled from DJANGO_THROTTLE_REGISTER and
DJANGO_THROTTLE_TOKEN; "off" disables one). Counts are kept in Django's cache per client address: REMOTE_ADDR, or
the address DJANGO_NUM_PROXIES trusted proxies wrote into X-Forwarded-For (a client cannot dodge the limit by
sending its own X-Forwarded-For). With the default per-process memory cache each web worker counts on its own, so
N workers let through up to N times the rate; point CACHES at a shared cache to make the limit exact.
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

DISABLED = {"", "off", "none", "0"}


class SettingsRateThrottle(SimpleRateThrottle):
    """A throttle for one scope whose rate is read from settings at each request. DRF's own classes bind the
    rates when the module is imported, so a changed setting (a test's, an operator's) would never be seen."""

    scope: str

    def __init__(self):  # the rate is read per request, in allow_request
        pass

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if rate is None or str(rate).strip().lower() in DISABLED:
            return None
        return rate

    def allow_request(self, request, view) -> bool:
        if request.user and request.user.is_staff:
            return True  # the storefront's server registers shoppers with a staff token; staff are not the risk
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class RegisterRateThrottle(SettingsRateThrottle):
    """POST /user/register and /api/users/register/: DJANGO_THROTTLE_REGISTER (default 30/minute per address)."""

    scope = "register"


class TokenRateThrottle(SettingsRateThrottle):
    """POST /api/auth/token/: DJANGO_THROTTLE_TOKEN (default 10/minute per address), against password guessing."""

    scope = "token"
