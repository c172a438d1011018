"""Small pieces every app's API shares."""

import re

import django_filters
from django import forms
from rest_framework import permissions, serializers

# Ids are 64-bit in every supported database; a larger number is bad input, not a database error.
MAX_ID = 2**63 - 1


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


class IsStaff(permissions.BasePermission):
    message = "Only staff may do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()
