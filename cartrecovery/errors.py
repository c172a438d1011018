"""One error format for the whole API: DRF's, also for Django's 404/500 and for database errors."""

import logging

from django.db import DataError, IntegrityError
from django.http import JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


def _answer_in_json(context) -> None:
    """Errors are JSON even where the view also offers another format (the report's ``?format=csv``)."""
    renderer = getattr(context.get("request"), "accepted_renderer", None)
    if renderer is not None and not isinstance(renderer, (JSONRenderer, BrowsableAPIRenderer)):
        context["request"].accepted_renderer = JSONRenderer()
        context["request"].accepted_media_type = JSONRenderer.media_type


def api_exception_handler(exc, context):
    _answer_in_json(context)
    response = exception_handler(exc, context)
    if response is not None:
        return response
    # Last line of defence: input the validators let through but the database refused (an out-of-range number,
    # a constraint) is the client's problem, answered as 400/409 rather than a 500. Services validate first.
    if isinstance(exc, DataError):
        logger.warning("database refused a value: %s", exc)
        return Response({"detail": "A value is out of range or malformed."}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IntegrityError):
        logger.warning("integrity error: %s", exc)
        return Response({"detail": "The request conflicts with existing data."}, status=status.HTTP_409_CONFLICT)
    return None


def not_found(request, exception=None):
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request):
    return JsonResponse({"detail": "Internal server error."}, status=500)


def bad_request(request, exception=None):
    return JsonResponse({"detail": "Bad request."}, status=400)


def permission_denied(request, exception=None):
    return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)
