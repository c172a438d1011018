from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares (API fields and filters, permissions, errors, middleware, exports, money). No models."""

    name = "core"
    verbose_name = "Core"
