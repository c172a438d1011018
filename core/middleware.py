"""Request-level guards that run before any view."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import JsonResponse
from django.middleware import common

logger = logging.getLogger(__name__)


class RequestBodyLimitMiddleware:
    """Answer 413 (JSON) to a body declared larger than DATA_UPLOAD_MAX_MEMORY_SIZE, before anything reads it.

    Django would refuse such a body too, but only once a view reads it, and as a bare 400; this says what is wrong
    and spends nothing on the body. A body without Content-Length is read by Django as empty.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            return JsonResponse({"detail": "Content-Length is not a number."}, status=400)
        if limit is not None and length > limit:
            logger.warning("refused a %s-byte body for %s %s", length, request.method, request.path)
            return JsonResponse({"detail": f"Request body too large: at most {limit} bytes are accepted."}, status=413)
        return self.get_response(request)


class RefuseNulMiddleware:
    """Answer 400 (JSON) to a NUL character in the query string.

    No form or filter has a use for one, and PostgreSQL refuses it in any text it is given: a filter in the admin or
    in django-apscheduler's changelists would pass it on and fail with a 500 instead of a client error. (Paths are
    left to their views: the recovery and unsubscribe pages answer a mangled link with their own 400 page.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in query or "%00" in query:
            return JsonResponse({"detail": "NUL characters are not allowed in the query string."}, status=400)
        return self.get_response(request)


class CommonMiddleware(common.CommonMiddleware):
    """Django's CommonMiddleware, except that a write to an API address without its trailing slash is not
    redirected: a 301 to the slashed address is an HTML answer, and the client following it would lose the body
    (browsers and most HTTP libraries turn the POST into a GET). It gets the JSON 404 of an unknown address instead.
    Reads are still redirected, and pages outside /api/ are unchanged."""

    def should_redirect_with_slash(self, request) -> bool:
        if request.path_info.startswith("/api/") and request.method not in ("GET", "HEAD"):
            return False
        return super().should_redirect_with_slash(request)


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every answer Django makes, unless the view chose its own caching.

    The staff pages and exports carry every shopper's email (the report, its CSV, the metrics, the admin, the user
    lists), and the shoppers' answers carry their cart and, at registration, their token: none may stay in a
    browser's or a proxy's cache. Every other answer is cheap to make again, so one rule for all is simpler and safer
    than a list that a new route could miss. Static files are served by whitenoise before this runs, with their own
    long-lived caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response
