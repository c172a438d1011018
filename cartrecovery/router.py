"""The REST resources under /api/, one router for every app's viewsets."""

from rest_framework.routers import DefaultRouter

from carts.api.views import AbandonmentLogViewSet, CartViewSet
from catalog.api.views import ItemViewSet
from recovery.api.views import RecoveryEmailViewSet
from users.api.views import UserViewSet
from webhooks.api.views import DeliveryViewSet, EndpointViewSet

router = DefaultRouter()
router.register("users", UserViewSet, basename="user")
router.register("items", ItemViewSet, basename="item")
router.register("carts", CartViewSet, basename="cart")
router.register("abandonment-logs", AbandonmentLogViewSet, basename="abandonmentlog")
router.register("recovery-emails", RecoveryEmailViewSet, basename="recoveryemail")
router.register("webhooks/endpoints", EndpointViewSet, basename="webhookendpoint")
router.register("webhooks/deliveries", DeliveryViewSet, basename="webhookdelivery")
