"""URL map. The seed-compatible routes (/user, /item, /cart) are a second map onto the same viewsets as /api/."""

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from cartrecovery.health import healthz
from carts.api.recovery import RecoveryEmailViewSet
from carts.api.views import AbandonmentLogViewSet, CartViewSet
from catalog.api.views import ItemViewSet
from users.api.views import ObtainTokenView, UserViewSet

admin.site.site_header = "Cart Recovery"
admin.site.site_title = "Cart Recovery"
admin.site.index_title = "Carts, recovery and reports"

router = DefaultRouter()
router.register("users", UserViewSet, basename="user")
router.register("items", ItemViewSet, basename="item")
router.register("carts", CartViewSet, basename="cart")
router.register("abandonment-logs", AbandonmentLogViewSet, basename="abandonmentlog")
router.register("recovery-emails", RecoveryEmailViewSet, basename="recoveryemail")

seed_routes = [
    path("user/register", UserViewSet.as_view({"post": "register"}), name="seed-user-register"),
    path("user/all", UserViewSet.as_view({"get": "list"}, pagination_class=None), name="seed-user-all"),
    path("item/all", ItemViewSet.as_view({"get": "list"}, pagination_class=None), name="seed-item-all"),
    path("item/add", ItemViewSet.as_view({"post": "add"}), name="seed-item-add"),
    path("cart/add", CartViewSet.as_view({"post": "add"}), name="seed-cart-add"),
    path("cart/remove", CartViewSet.as_view({"post": "remove"}), name="seed-cart-remove"),
    path("cart/view", CartViewSet.as_view({"get": "view"}), name="seed-cart-view"),
    path("cart/checkout", CartViewSet.as_view({"post": "checkout"}), name="seed-cart-checkout"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", staff_member_required(SpectacularSwaggerView.as_view(url_name="schema")), name="api-docs"),
    path(
        "api/redoc/",
        # drf-spectacular's own Redoc page loads its fonts from Google; this one uses the system's (no CDN).
        staff_member_required(SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html")),
        name="api-redoc",
    ),
    path("api/report/", include("carts.api.report")),
    path("api/", include(router.urls)),
    path("", include("carts.urls")),
    *seed_routes,
]

handler400 = "cartrecovery.errors.bad_request"
handler403 = "cartrecovery.errors.permission_denied"
handler404 = "cartrecovery.errors.not_found"
handler500 = "cartrecovery.errors.server_error"
