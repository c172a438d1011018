from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Signed webhooks to the shop's other systems: the transactional outbox of events, the endpoints staff set up,
    and the deliveries (with every attempt) the scheduler makes."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = "Webhooks"
