from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares (API fields and filters, permissions, errors, middleware, exports, money). No models."""

    name = "core"
    verbose_name = "Core"

    def ready(self):
        # drf-spectacular's extensions register themselves when their module is imported.
        from . import schema  # noqa: F401
