from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from webhooks.retention import prune_webhook_events


class Command(BaseCommand):
    help = (
        "Delete webhook events older than CART_WEBHOOKS_RETENTION_DAYS whose deliveries have finished, with their "
        "deliveries and attempts. Only counts them unless --execute is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--execute", action="store_true", help="Really delete (default: say what would go).")

    def handle(self, *, execute: bool, **options):
        result = prune_webhook_events(now=timezone.now(), dry_run=not execute)
        verb = "deleted" if execute else "would delete"
        self.stdout.write(
            f"{verb} {result.events} webhook events older than {settings.CART_WEBHOOKS_RETENTION_DAYS} days"
            + ("" if execute else " (dry run: pass --execute to delete)")
        )
