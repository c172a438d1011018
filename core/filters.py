"""Query filters every app's API shares: ids and date-times bounded like the fields in core/fields.py."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field

from .fields import MAX_ID, clamp_to_supported_years


# The schema states the range the filter accepts, so a generated client and the server agree that ?user=0 is refused.
@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.Filter):
    """A query filter on an id: a whole number from 1 to MAX_ID (anything else is a 400 naming the parameter)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class BoundedIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time; a year outside FIRST_YEAR..LAST_YEAR stands for "no bound" and is clamped to the range
    (core/fields.py), instead of reaching the database, where converting it to UTC overflows."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        return clamp_to_supported_years(moment) or moment


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class StrictBooleanField(forms.Field):
    """``true`` or ``false`` (any case), as the schema's boolean says; empty means "no filter", like an empty field of
    a web form. Anything else is a 400 naming the parameter. (django-filter's own boolean filter read every other
    value, ``?is_active=null`` or ``?is_active=banana``, as "no filter", which the schema did not say.)"""

    widget = forms.TextInput

    def to_python(self, value):
        if value in (None, ""):
            return None
        lowered = str(value).strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise ValidationError("Use true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class FilterSet(django_filters.rest_framework.FilterSet):
    """django-filter's, with date-time filters clamped to the supported years instead of letting the database
    overflow (a 500 on SQLite), and boolean filters that take only true or false."""

    FILTER_DEFAULTS = {
        **django_filters.rest_framework.FilterSet.FILTER_DEFAULTS,
        models.DateTimeField: {"filter_class": BoundedIsoDateTimeFilter},
        models.BooleanField: {"filter_class": StrictBooleanFilter},
    }


class FilterBackend(DjangoFilterBackend):
    """The default filter backend: every view's ``filterset_fields`` get the bounded FilterSet above."""

    filterset_base = FilterSet
