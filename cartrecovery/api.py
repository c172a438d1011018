"""Small pieces every app's API shares."""

import re
from datetime import UTC, datetime

import django_filters
from django import forms
from django.db import models
from django.http import Http404
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import permissions, serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer

# Ids are 64-bit in every supported database; a larger number is bad input, not a database error.
MAX_ID = 2**63 - 1

# Dates a client may filter on. A shop has no business before 1900 or near year 9999, where date arithmetic and the
# conversion to UTC overflow (SQLite's adapter raises OverflowError for 0001-01-01T00:00+14:00: a 500).
FIRST_YEAR, LAST_YEAR = 1900, 9998


class IdField(serializers.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


# Numbers sent as text: ASCII digits only. Python's int() and Decimal() also read "1_000" and other scripts' digits
# ("١٢"), which no client means to send.
_INTEGER_TEXT = re.compile(r"\s*[-+]?[0-9]+(\.0*)?\s*")
_DECIMAL_TEXT = re.compile(r"\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*")


class StrictIntegerField(serializers.IntegerField):
    """An integer that must arrive as a JSON number or a string of ASCII digits: true/false and 1.5 are refused."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or (isinstance(data, float) and not data.is_integer()):
            self.fail("invalid")
        if isinstance(data, str) and not _INTEGER_TEXT.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDecimalField(serializers.DecimalField):
    """A decimal that must arrive as a JSON number or a plain decimal string of ASCII digits ("12.50")."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or (isinstance(data, str) and not _DECIMAL_TEXT.fullmatch(data)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIdField(StrictIntegerField, IdField):
    pass


class StrictCharField(serializers.CharField):
    """Text that must arrive as a JSON string: 0 and true are refused instead of being stored as "0" and "True"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        # The documented maxLength is of what the client sends, not of what is left once whitespace is trimmed.
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class IdFilter(django_filters.Filter):
    """A query filter on an id: a whole number from 1 to MAX_ID (anything else is a 400 naming the parameter)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class BoundedIsoDateTimeField(IsoDateTimeField):
    """A date-time before FIRST_YEAR or after LAST_YEAR stands for "no bound" (clients send 0001-01-01 or
    9999-12-31T23:59:59 for that, .NET's DateTime.MinValue and MaxValue): it is clamped to the range, which holds every
    date a shop has, instead of reaching the database, where converting it to UTC overflows."""

    LOWEST = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
    HIGHEST = datetime(LAST_YEAR, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is not None and moment.year < FIRST_YEAR:
            return self.LOWEST
        if moment is not None and moment.year > LAST_YEAR:
            return self.HIGHEST
        return moment


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class FilterSet(django_filters.rest_framework.FilterSet):
    """django-filter's, with date-time filters clamped to the years FIRST_YEAR..LAST_YEAR instead of letting the
    database overflow (a 500 on SQLite)."""

    FILTER_DEFAULTS = {
        **django_filters.rest_framework.FilterSet.FILTER_DEFAULTS,
        models.DateTimeField: {"filter_class": BoundedIsoDateTimeFilter},
    }


class FilterBackend(DjangoFilterBackend):
    """The default filter backend: every view's ``filterset_fields`` get the bounded FilterSet above."""

    filterset_base = FilterSet


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


class IsStaff(permissions.BasePermission):
    message = "Only staff may do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()
