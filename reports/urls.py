"""The report's API routes, under /api/report/. Its seed routes (/cart/report, /cart/abandoned) are in
cartrecovery/urls.py's ``seed_routes`` with the eight others."""

from django.urls import path

from .api import views

urlpatterns = [
    path("metrics/", views.report_metrics, name="api-report-metrics"),
    path("csv/", views.report_csv, name="api-report-csv"),
]
