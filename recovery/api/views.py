"""The reminders' API, staff only: recovery emails (read-only), campaigns with their steps (and a preview), the shop's
identity, and "send the next reminder now" for a cart."""

from django.db.models import ProtectedError
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from carts.models import Cart
from core.db import one_or_none
from core.errors import Conflict, NotFound
from core.permissions import IsStaff
from recovery import campaigns, previews
from recovery.models import Campaign, RecoveryEmail
from recovery.sending import reminder_send_now
from recovery.shop import current_shop, shop_update

from .serializers import (
    CampaignPreviewQuery,
    CampaignPreviewSerializer,
    CampaignSerializer,
    RecoveryEmailSerializer,
    SentReminderSerializer,
    ShopSerializer,
)


class RecoveryEmailViewSet(viewsets.ReadOnlyModelViewSet):
    """Reminder emails: one per cart and step, with their delivery state, the last error and why one was skipped.
    Staff only."""

    queryset = RecoveryEmail.objects.select_related("coupon").order_by("-planned_at", "-id")
    serializer_class = RecoveryEmailSerializer
    permission_classes = [IsStaff]
    filterset_fields = {"status": ["exact"], "step": ["exact"], "cart": ["exact"]}


class CampaignViewSet(viewsets.ModelViewSet):
    """Campaigns and their steps (nested). At most one campaign is active. Staff only."""

    serializer_class = CampaignSerializer
    permission_classes = [IsStaff]
    filterset_fields = {"is_active": ["exact"]}

    def get_queryset(self):
        return Campaign.objects.prefetch_related("steps").order_by("id")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = campaigns.campaign_save(
            campaign=None,
            name=data["name"],
            is_active=data["is_active"],
            steps=data.get("steps", []),
            holdout_percent=data.get("holdout_percent", 0),
        )

    def perform_update(self, serializer):
        data = serializer.validated_data
        campaign = serializer.instance
        serializer.instance = campaigns.campaign_save(
            campaign=campaign,
            name=data.get("name", campaign.name),
            is_active=data.get("is_active", campaign.is_active),
            steps=data.get("steps"),
            holdout_percent=data.get("holdout_percent", campaign.holdout_percent),
        )

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError:
            raise Conflict(
                "This campaign has reminders: switch it off (is_active false) instead of deleting it."
            ) from None

    @extend_schema(parameters=[CampaignPreviewQuery], responses={200: CampaignPreviewSerializer})
    @action(detail=True, methods=["get"], url_path="preview")
    def preview(self, request, pk=None):
        """A step rendered with a real cart (``cart``) or a sample one. Its links change nothing; nothing is sent."""
        campaign = self.get_object()
        query = CampaignPreviewQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        position = query.validated_data.get("step", 1)
        step = one_or_none(campaign.steps.filter(position=position))
        if step is None:
            raise NotFound(f"This campaign has no step {position}.", field="step")
        cart = None
        if "cart" in query.validated_data:
            cart = one_or_none(Cart.objects.filter(pk=query.validated_data["cart"]))
            if cart is None:
                raise NotFound("Cart not found.", field="cart")
        rendered = previews.render_step(step=step, cart=cart)
        return Response(CampaignPreviewSerializer(rendered).data)


class CartReminderViewSet(viewsets.GenericViewSet):
    """POST /api/carts/{id}/send-reminder/: the cart's next reminder, now. Staff only."""

    queryset = Cart.objects.all()
    permission_classes = [IsStaff]
    serializer_class = SentReminderSerializer

    @extend_schema(request=None, responses={200: SentReminderSerializer})
    @action(detail=True, methods=["post"], url_path="send-reminder")
    def send_reminder(self, request, pk=None):
        """Send the next unsent active step of the active campaign now (409 saying why when there is none: the cart
        is not abandoned, its shopper opted out, every step was sent)."""
        cart = self.get_object()
        email = reminder_send_now(cart_id=cart.pk, staff=request.user, now=timezone.now())
        return Response(SentReminderSerializer(email).data, status=status.HTTP_200_OK)


class ShopView(mixins.RetrieveModelMixin, mixins.UpdateModelMixin, APIView):
    """The shop's identity in emails and on the shopper's pages. Staff only."""

    permission_classes = [IsStaff]
    serializer_class = ShopSerializer

    @extend_schema(responses={200: ShopSerializer})
    def get(self, request):
        return Response(ShopSerializer(current_shop()).data)

    @extend_schema(request=ShopSerializer, responses={200: ShopSerializer})
    def patch(self, request):
        serializer = ShopSerializer(current_shop(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return Response(ShopSerializer(shop_update(changes=serializer.validated_data)).data)
