from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """The abandoned-cart report for staff: its figures, page, exports and metrics. No models."""

    name = "reports"
    verbose_name = "Reports"
