"""Small pieces every app's API shares."""

from rest_framework import permissions, serializers

# Ids are 64-bit in every supported database; a larger number is bad input, not a database error.
MAX_ID = 2**63 - 1


class IdField(serializers.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class StrictIntegerField(serializers.IntegerField):
    """An integer that must arrive as a JSON number or a string of digits: true/false and 1.5 are refused."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or (isinstance(data, float) and not data.is_integer()):
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


class IsStaff(permissions.BasePermission):
    message = "Only staff may do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()
