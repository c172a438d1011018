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


class IsStaff(permissions.BasePermission):
    message = "Only staff may do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()
