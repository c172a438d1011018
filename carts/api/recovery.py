"""Recovery emails as a read-only REST resource for staff: /api/recovery-emails/ (filters: status, step, cart)."""

from rest_framework import serializers, viewsets

from cartrecovery.api import IsStaff
from carts.models import RecoveryEmail


class RecoveryEmailSerializer(serializers.ModelSerializer):
    cart_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = RecoveryEmail
        fields = [
            "id",
            "cart_id",
            "step",
            "status",
            "planned_at",
            "claimed_at",
            "sent_at",
            "attempts",
            "next_attempt_at",
            "last_error",
            "clicked_at",
            "created_at",
        ]
        read_only_fields = fields


class RecoveryEmailViewSet(viewsets.ReadOnlyModelViewSet):
    """Reminder emails: one per cart and step, with their delivery state and the last error. Staff only."""

    queryset = RecoveryEmail.objects.order_by("-planned_at", "-id")
    serializer_class = RecoveryEmailSerializer
    permission_classes = [IsStaff]
    filterset_fields = {"status": ["exact"], "step": ["exact"], "cart": ["exact"]}
