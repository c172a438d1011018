from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    """Reminder emails after abandonment: campaigns, planning, sending, the signed links they carry and the pages they
    open, in the shop's name."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "recovery"
    verbose_name = "Recovery emails"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
