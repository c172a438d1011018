from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    """Reminder emails after abandonment: planning, sending, the signed links they carry and the pages they open."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "recovery"
    verbose_name = "Recovery emails"
