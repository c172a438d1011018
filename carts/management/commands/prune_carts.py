from django.core.management.base import BaseCommand
from django.utils import timezone

from carts.retention import prune_old_carts


class Command(BaseCommand):
    help = (
        "Delete empty carts untouched for CART_EMPTY_CART_MAX_AGE_SECONDS and closed carts older than "
        "CART_RETENTION_DAYS. Only counts them unless --execute is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--execute", action="store_true", help="Really delete (default: say what would go).")

    def handle(self, *, execute: bool, **options):
        result = prune_old_carts(now=timezone.now(), dry_run=not execute)
        verb = "deleted" if execute else "would delete"
        self.stdout.write(
            f"{verb} {result.empty_carts} empty carts and {result.expired_carts} carts past retention"
            + ("" if execute else " (dry run: pass --execute to delete)")
        )
