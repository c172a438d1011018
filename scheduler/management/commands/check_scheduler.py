from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from scheduler.health import scheduler_health


class Command(BaseCommand):
    help = (
        "Exit with status 1 when no sweep or no recovery emails run has completed for two intervals (for cron or a "
        "monitoring probe)."
    )

    def handle(self, **options):
        health = scheduler_health(now=timezone.now())
        if not health.healthy:
            raise CommandError(health.message)
        self.stdout.write(f"{health.message} Last sweep: {health.last_sweep_at.isoformat()}")
