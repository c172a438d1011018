"""Strict API fields every app's serializers share: ids, integers, decimals and text that arrive as the JSON type they
claim to be, and period bounds (ISO 8601 dates or date-times)."""

import re
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# Ids are 64-bit in every supported database; a larger number is bad input, not a database error.
MAX_ID = 2**63 - 1

# The dates the product reads. A shop has no business before 1900 or near year 9999, where date arithmetic and the
# conversion to UTC overflow (SQLite's adapter raises OverflowError for 0001-01-01T00:00+14:00: a 500). One policy
# everywhere (the /api/ filters, /cart/report, the report page, the metrics): a moment outside these years stands for
# "no bound" (clients send 0001-01-01 or 9999-12-31T23:59:59 for that, .NET's DateTime.MinValue and MaxValue) and is
# clamped to the range, which holds every date a shop has.
FIRST_YEAR, LAST_YEAR = 1900, 9998
LOWEST_MOMENT = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
HIGHEST_MOMENT = datetime(LAST_YEAR, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)


def clamp_to_supported_years(moment: datetime) -> datetime | None:
    """``moment`` itself, or LOWEST_MOMENT / HIGHEST_MOMENT when its year is outside FIRST_YEAR..LAST_YEAR; None
    when it is inside (the caller goes on with it)."""
    if moment.year < FIRST_YEAR:
        return LOWEST_MOMENT
    if moment.year > LAST_YEAR:
        return HIGHEST_MOMENT
    return None


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


PERIOD_BOUND_HELP = "Use an ISO 8601 date (2026-11-28) or date-time (2026-11-28T10:00:00Z)."


def parse_period_bound(text: str, *, end_of_day: bool = False) -> datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime; ValueError when it is neither.

    A date means that whole day: its start, or with ``end_of_day`` the next midnight (an inclusive ``until``). A
    date-time without an offset is read in settings.TIME_ZONE. Years outside FIRST_YEAR..LAST_YEAR mean "no bound"
    (clamped)."""
    if not isinstance(text, str) or len(text) > 40:
        raise ValueError(PERIOD_BOUND_HELP)
    text = text.strip()
    # A date has no time part: no "T" nor space before one (2026-11-28, also 20261128 or 2026-W48-6).
    is_date = not any(separator in text for separator in "Tt ")
    if is_date:
        moment = datetime.combine(date.fromisoformat(text), time.min)
    else:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    clamped = clamp_to_supported_years(moment)
    if clamped is not None:
        return clamped
    if is_date and end_of_day:
        moment += timedelta(days=1)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.astimezone(UTC)


@extend_schema_field(OpenApiTypes.STR)
class PeriodBoundField(serializers.Field):
    """A period bound in a query string: ``parse_period_bound``."""

    default_error_messages = {"invalid": PERIOD_BOUND_HELP}

    def __init__(self, *, end_of_day: bool = False, **kwargs):
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return parse_period_bound(data, end_of_day=self.end_of_day)
        except ValueError:
            self.fail("invalid")

    def to_representation(self, value):
        return value.isoformat()


class StrictBooleanField(serializers.BooleanField):
    """A boolean that must arrive as JSON true or false: 0, 1 and "yes" are refused rather than guessed."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data
