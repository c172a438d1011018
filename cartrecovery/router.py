"""The REST resources under /api/, one router for every app's viewsets.

Without format-suffix routes (``/api/carts/add.json``): DRF's DefaultRouter would publish each route twice, and the
suffixed twin passes a ``format`` argument that no ``@action`` takes, a TypeError (500) for anyone, anonymous
included. The API speaks JSON only; ``?format=`` still chooses a renderer where a view offers more than one (the
report's ``?format=csv``), and a suffixed address is an unknown address (404).
"""

from rest_framework.routers import DefaultRouter

from carts.api.views import AbandonmentLogViewSet, CartViewSet
from catalog.api.views import ItemViewSet
from recovery.api.views import CampaignViewSet, CartReminderViewSet, RecoveryEmailViewSet
from users.api.views import UserViewSet
from webhooks.api.views import DeliveryViewSet, EndpointViewSet


class Router(DefaultRouter):
    include_format_suffixes = False


router = Router()
router.register("users", UserViewSet, basename="user")
router.register("items", ItemViewSet, basename="item")
router.register("carts", CartViewSet, basename="cart")
router.register("carts", CartReminderViewSet, basename="cart-reminder")  # POST /api/carts/{id}/send-reminder/
router.register("abandonment-logs", AbandonmentLogViewSet, basename="abandonmentlog")
router.register("recovery-emails", RecoveryEmailViewSet, basename="recoveryemail")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("webhooks/endpoints", EndpointViewSet, basename="webhookendpoint")
router.register("webhooks/deliveries", DeliveryViewSet, basename="webhookdelivery")
