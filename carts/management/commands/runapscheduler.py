import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from carts.scheduler import build_scheduler

logger = logging.getLogger("carts.scheduler")


class Command(BaseCommand):
    help = (
        "Run the scheduler in the foreground (its own process, never inside the web server): the abandonment sweep "
        "and the recovery emails every CART_SWEEP_INTERVAL_SECONDS, and a weekly prune of old job runs. "
        "Stops cleanly on SIGINT or SIGTERM, letting a running job finish."
    )

    def handle(self, **options):
        scheduler = build_scheduler()
        # SIGTERM (supervisor, systemd, docker stop) stops the scheduler the way Ctrl-C does: KeyboardInterrupt
        # leaves scheduler.start() from the main thread, outside any job (jobs run in the executor's threads).
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        logger.info(
            "scheduler starting: sweep and recovery emails every %d s, abandonment after %d s",
            settings.CART_SWEEP_INTERVAL_SECONDS,
            settings.CART_ABANDON_AFTER_SECONDS,
        )
        try:
            scheduler.start()
        except KeyboardInterrupt:
            logger.info("scheduler stopping: waiting for running jobs to finish")
        finally:
            if scheduler.running:
                # A second signal while waiting stops the process at once; every job is safe to cut short
                # (each sweep batch and each email claim is its own transaction).
                scheduler.shutdown(wait=True)
        logger.info("scheduler stopped")
