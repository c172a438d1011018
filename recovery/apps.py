from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    """Reminder emails after abandonment: campaigns, planning, sending, the signed links they carry and the pages they
    open, in the shop's name."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "recovery"
    verbose_name = "Recovery emails"

    def ready(self):
        from carts.signals import cart_checked_out, carts_pruning

        from . import checks  # noqa: F401  (registers the system checks)
        from .figures import on_cart_checked_out, on_carts_pruning

        cart_checked_out.connect(on_cart_checked_out, dispatch_uid="recovery.figures.on_cart_checked_out")
        carts_pruning.connect(on_carts_pruning, dispatch_uid="recovery.figures.on_carts_pruning")
