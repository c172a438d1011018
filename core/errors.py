"""The project's own exceptions, and the one place that turns any error into an answer.

Domain services raise :class:`ApplicationError` subclasses (HackSoft's styleguide calls the pattern
``ApplicationError``), never DRF's HTTP exceptions: a service knows *what* went wrong (a cart not found, a cart already
checked out), and this module says once how that reads to a client. Each error carries an HTTP ``status``, a
``title`` and a ``message`` for a person, and optionally the ``field`` of the request it concerns. The API answers it
as JSON (``{"field": ["message"]}`` or ``{"detail": "message"}``, DRF's own shapes, so every error of the API looks
alike), the HTML pages as a page in the product's look (:func:`render_error_page`).

Django's own 400/403/404/500 handlers are here too, answering JSON on the API's addresses (``/api/``, the seed routes,
``/cart/report``, ``/healthz``) and an HTML page everywhere else (``/``, ``/admin/``, ``/cart/abandoned``, the recovery
and unsubscribe links, ``/shop/``).
"""

from __future__ import annotations

import logging

from django.db import DataError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework import status
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """An error a client can cause and a person can read. Subclasses set the defaults; an instance may override the
    message and name the request field it concerns."""

    status: int = status.HTTP_400_BAD_REQUEST
    title: str = "This request cannot be done"
    message: str = "The request is not valid."

    def __init__(self, message: str | None = None, *, field: str | None = None, title: str | None = None):
        if message is not None:
            self.message = message
        if title is not None:
            self.title = title
        self.field = field
        super().__init__(self.message)

    def as_data(self) -> dict:
        """The JSON body of the API's answer: DRF's shapes."""
        if self.field:
            return {self.field: [self.message]}
        return {"detail": self.message}


class InvalidInput(ApplicationError):
    status = status.HTTP_400_BAD_REQUEST
    title = "Something in the request is not valid"


class NotFound(ApplicationError):
    status = status.HTTP_404_NOT_FOUND
    title = "Not found"
    message = "Not found."


class PermissionDenied(ApplicationError):
    status = status.HTTP_403_FORBIDDEN
    title = "Not allowed"
    message = "You do not have permission to perform this action."


class Conflict(ApplicationError):
    """The request is valid but the state of the data does not allow it (a cart checked out, a step already sent)."""

    status = status.HTTP_409_CONFLICT
    title = "This cannot be done now"
    message = "The request conflicts with the current state of the resource."


class Gone(ApplicationError):
    status = status.HTTP_410_GONE
    title = "This is no longer available"
    message = "This is no longer available."


# --- the API --------------------------------------------------------------------------------------------------------


def _answer_in_json(context) -> None:
    """Errors are JSON even where the view also offers another format (the report's ``?format=csv``)."""
    renderer = getattr(context.get("request"), "accepted_renderer", None)
    if renderer is not None and not isinstance(renderer, (JSONRenderer, BrowsableAPIRenderer)):
        context["request"].accepted_renderer = JSONRenderer()
        context["request"].accepted_media_type = JSONRenderer.media_type


def api_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: the project's errors, DRF's own, and a value the database refused (an out-of-range
    number the validators let through: the client's problem, a 400).

    An ``IntegrityError`` that reaches this point is *not* answered as a client "conflict": the services turn the
    constraints they expect (one open cart per user, one account per address) into their own errors, so any other
    one is a bug. It is left to Django, which logs it with its traceback and answers the JSON 500 below."""
    _answer_in_json(context)
    if isinstance(exc, ApplicationError):
        return Response(exc.as_data(), status=exc.status)
    response = exception_handler(exc, context)
    if response is not None:
        return response
    if isinstance(exc, DataError):
        logger.warning("database refused a value: %s", exc)
        return Response({"detail": "A value is out of range or malformed."}, status=status.HTTP_400_BAD_REQUEST)
    return None


# --- pages, and Django's handlers ------------------------------------------------------------------------------------

# Where a client expects JSON. Everything else is a page a person reads.
JSON_PREFIXES = ("/api/", "/user/", "/item/", "/cart/", "/healthz")
HTML_UNDER_JSON_PREFIXES = ("/cart/abandoned", "/cart/recover/", "/cart/unsubscribe/")


def wants_json(request: HttpRequest) -> bool:
    path = request.path
    return path.startswith(JSON_PREFIXES) and not path.startswith(HTML_UNDER_JSON_PREFIXES)


def render_error_page(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    """An ApplicationError as a page in the product's look, with its status."""
    return render(
        request,
        "errors/error.html",
        {"title": error.title, "message": error.message, "status": error.status},
        status=error.status,
    )


class _Page(ApplicationError):
    def __init__(self, status_code: int, title: str, message: str):
        self.status = status_code
        super().__init__(message, title=title)


def bad_request(request, exception=None):
    return _answer(request, 400, "Bad request", "Bad request.")


def permission_denied(request, exception=None):
    return _answer(request, 403, "Not allowed", "You do not have permission to perform this action.")


def not_found(request, exception=None):
    return _answer(request, 404, "Page not found", "Not found.")


def server_error(request):
    # No template context that could touch the database here: it may be the reason for the 500.
    if wants_json(request):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return render(
        request,
        "errors/500.html",
        {"title": "Something went wrong", "message": "Something went wrong on our side. Please try again later."},
        status=500,
    )


def _answer(request, status_code: int, title: str, message: str) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"detail": message}, status=status_code)
    return render_error_page(request, _Page(status_code, title, message))
