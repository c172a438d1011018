"""Recovery emails as a read-only REST resource for staff: /api/recovery-emails/ (filters: status, step, cart)."""

from rest_framework import viewsets

from core.permissions import IsStaff
from recovery.models import RecoveryEmail

from .serializers import RecoveryEmailSerializer


class RecoveryEmailViewSet(viewsets.ReadOnlyModelViewSet):
    """Reminder emails: one per cart and step, with their delivery state and the last error. Staff only."""

    queryset = RecoveryEmail.objects.order_by("-planned_at", "-id")
    serializer_class = RecoveryEmailSerializer
    permission_classes = [IsStaff]
    filterset_fields = {"status": ["exact"], "step": ["exact"], "cart": ["exact"]}
