"""Content negotiation for the API."""

from django.http import Http404
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's, except that a ``?format=`` the view does not offer is a 400 in JSON naming the parameter and the formats
    there are, not a bare 404 "Not found." (rendered in the view's first format, YAML for the schema) that reads as
    if the route did not exist."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except Http404:
            offered = ", ".join(sorted({renderer.format for renderer in renderers}))
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
            raise serializers.ValidationError({"format": [f"Use one of: {offered}."]}) from None
