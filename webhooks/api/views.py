"""The webhooks API, for staff: /api/webhooks/endpoints/ (the secret only in the answers that issue it) and
/api/webhooks/deliveries/ (filters: endpoint, status) with replay."""

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.filters import FilterSet, IdFilter
from core.permissions import IsStaff
from webhooks import endpoints as services
from webhooks.delivery import delivery_replay
from webhooks.models import Attempt, Delivery, Endpoint

from .serializers import (
    DeliveryDetailSerializer,
    DeliverySerializer,
    EndpointSerializer,
    EndpointWithSecretSerializer,
)


class EndpointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Where events are sent. Creating an endpoint (or rotating its secret) answers its secret, once."""

    queryset = Endpoint.objects.order_by("id")
    serializer_class = EndpointSerializer
    permission_classes = [IsStaff]
    filterset_fields = {"active": ["exact"]}
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=EndpointSerializer, responses={201: EndpointWithSecretSerializer})
    def create(self, request):
        data = EndpointSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_create(**data.validated_data, now=timezone.now())
        return Response(EndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        serializer.instance = services.endpoint_update(endpoint=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.endpoint_delete(endpoint=instance)

    @extend_schema(request=None, responses={200: EndpointWithSecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = self.get_object()
        endpoint.secret = services.endpoint_rotate_secret(endpoint_ids=[endpoint.pk])[endpoint.pk]
        return Response(EndpointWithSecretSerializer(endpoint).data)


class DeliveryFilter(FilterSet):
    endpoint = IdFilter(field_name="endpoint_id", help_text="Deliveries to this endpoint.")

    class Meta:
        model = Delivery
        fields = {"status": ["exact"]}


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """One event for one endpoint each, newest first; the detail has the body and every attempt. Staff only."""

    permission_classes = [IsStaff]
    filterset_class = DeliveryFilter

    def get_queryset(self):
        deliveries = Delivery.objects.select_related("event").order_by("-id")
        if self.action != "list":
            deliveries = deliveries.prefetch_related(
                Prefetch("attempt_log", queryset=Attempt.objects.order_by("attempted_at", "id"))
            )
        return deliveries

    def get_serializer_class(self):
        return DeliverySerializer if self.action == "list" else DeliveryDetailSerializer

    @extend_schema(request=None, responses={200: DeliveryDetailSerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Send this delivery again now, with the same webhook-id; answers the delivery with the new attempt."""
        delivery = self.get_object()
        delivery_replay(delivery_id=delivery.pk, now=timezone.now())
        return Response(DeliveryDetailSerializer(self.get_queryset().get(pk=delivery.pk)).data)
