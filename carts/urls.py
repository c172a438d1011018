"""HTML pages of the carts app (the report, recovery links). The JSON routes live in cartrecovery/urls.py."""

from django.urls import path

from . import recovery_views, views

app_name = "carts"

urlpatterns = [
    path("cart/report", views.report_json_or_csv, name="report"),
    path("cart/abandoned", views.abandoned_report_page, name="abandoned"),
    path("cart/recover/<str:token>", recovery_views.recover, name="recover"),
    path("cart/unsubscribe/<str:token>", recovery_views.unsubscribe, name="unsubscribe"),
]
