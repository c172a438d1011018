"""The REST resources under /api/, one router for every app's viewsets."""

from rest_framework.routers import DefaultRouter

from carts.api.views import AbandonmentLogViewSet, CartViewSet
from catalog.api.views import ItemViewSet
from recovery.api.views import CampaignViewSet, CartReminderViewSet, RecoveryEmailViewSet
from users.api.views import UserViewSet

router = DefaultRouter()
router.register("users", UserViewSet, basename="user")
router.register("items", ItemViewSet, basename="item")
router.register("carts", CartViewSet, basename="cart")
router.register("carts", CartReminderViewSet, basename="cart-reminder")  # POST /api/carts/{id}/send-reminder/
router.register("abandonment-logs", AbandonmentLogViewSet, basename="abandonmentlog")
router.register("recovery-emails", RecoveryEmailViewSet, basename="recoveryemail")
router.register("campaigns", CampaignViewSet, basename="campaign")
