"""The URL map, in three lists.

- ``seed_routes``: the ten routes of the seed's API, at their exact paths. They are a second map onto the same
  viewsets and views as ``/api/`` (one implementation).
- ``api_routes``: the REST resources, the token exchange, the report's metrics, the schema and its docs.
- ``pages``: what people open in a browser: the landing page, the admin, the recovery links' pages, /healthz.
"""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from carts.api.views import CartViewSet
from catalog.api.views import ItemViewSet
from core.views import landing_page
from recovery.api.views import ShopView
from reports.api.views import report_json_or_csv
from reports.views import abandoned_report_page
from scheduler.views import healthz
from users.api.views import ObtainTokenView, UserViewSet

from .router import router

admin.site.site_header = "Cart Recovery"
admin.site.site_title = "Cart Recovery"
admin.site.index_title = "Carts, recovery and reports"

seed_routes = [
    path("user/register", UserViewSet.as_view({"post": "register"}), name="seed-user-register"),
    path("user/all", UserViewSet.as_view({"get": "list"}, pagination_class=None), name="seed-user-all"),
    path("item/all", ItemViewSet.as_view({"get": "list"}, pagination_class=None), name="seed-item-all"),
    path("item/add", ItemViewSet.as_view({"post": "add"}), name="seed-item-add"),
    path("cart/add", CartViewSet.as_view({"post": "add"}), name="seed-cart-add"),
    path("cart/remove", CartViewSet.as_view({"post": "remove"}), name="seed-cart-remove"),
    path("cart/view", CartViewSet.as_view({"get": "view"}), name="seed-cart-view"),
    path("cart/checkout", CartViewSet.as_view({"post": "checkout"}), name="seed-cart-checkout"),
    path("cart/report", report_json_or_csv, name="seed-cart-report"),
    path("cart/abandoned", abandoned_report_page, name="seed-cart-abandoned"),
]

api_routes = [
    path("api/auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        # Swagger UI with its start-up script as a second request (?script), not inline: the Content-Security-Policy
        # allows scripts from this origin only.
        staff_member_required(
            SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html")
        ),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        # drf-spectacular's own Redoc page loads its fonts from Google; this one uses the system's (no CDN). Redoc
        # writes its styles into <style> elements as it renders (styled-components) and runs its search in a worker
        # made from a blob: this page alone also allows inline styles and blob: workers. Its scripts stay this
        # origin's only.
        csp_update({"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})(
            staff_member_required(SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"))
        ),
        name="api-redoc",
    ),
    path("api/report/", include("reports.urls")),
    path("api/shop/", ShopView.as_view(), name="api-shop"),
    path("api/", include(router.urls)),
]

pages = [
    path("", landing_page, name="landing"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("", include("recovery.urls")),
]

urlpatterns = [*seed_routes, *api_routes, *pages]

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.not_found"
handler500 = "core.errors.server_error"
