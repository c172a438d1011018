from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog import services
from catalog.models import Item
from core.permissions import IsStaff

from .serializers import ItemAddOutput, ItemDetailSerializer, ItemInput, ItemSerializer


class ItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The catalogue: anyone reads active items; staff add and edit (items are deactivated, never deleted)."""

    filterset_fields = {"is_active": ["exact"]}

    def get_queryset(self):
        items = Item.objects.order_by("id")
        is_staff = bool(self.request.user and self.request.user.is_staff)
        # Shoppers only ever see active items; staff see the active ones too unless they filter on is_active (true or
        # false; the filter refuses anything else, and an empty value is no filter).
        hide_inactive = (not is_staff and self.action in ("list", "retrieve")) or (
            self.action == "list" and not self.request.query_params.get("is_active", "").strip()
        )
        return items.filter(is_active=True) if hide_inactive else items

    def get_serializer_class(self):
        if self.request.user and self.request.user.is_staff and self.action != "list":
            return ItemDetailSerializer
        return ItemSerializer

    def get_permissions(self):
        # No action: the route has no handler for this method, and anyone gets the 405.
        if self.action in ("list", "retrieve", None):
            return [permissions.AllowAny()]
        return [IsStaff()]

    def perform_create(self, serializer):
        # One write path: POST /api/items/ and the seed route /item/add both go through the item service.
        serializer.instance = services.item_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.item_update(item=serializer.instance, **serializer.validated_data)

    @extend_schema(request=ItemInput, responses={201: ItemAddOutput})
    @action(detail=False, methods=["post"], url_path="add")
    def add(self, request):
        data = ItemInput(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.item_create(**data.validated_data)
        return Response({"message": "Item added.", "id": item.id}, status=status.HTTP_201_CREATED)
