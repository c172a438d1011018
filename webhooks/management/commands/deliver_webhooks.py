from django.core.management.base import BaseCommand
from django.utils import timezone

from webhooks.delivery import deliver_due_webhooks, would_deliver


class Command(BaseCommand):
    help = (
        "Fan out new webhook events and send the deliveries that are due, once (the cron alternative to the "
        "scheduler's webhooks job; safe beside it: each delivery is claimed before it is sent). --dry-run says "
        "what is waiting."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Send and write nothing; say what is waiting.")

    def handle(self, *, dry_run: bool, **options):
        now = timezone.now()
        if dry_run:
            waiting = would_deliver(now=now)
            self.stdout.write(
                f"Dry run: {waiting['events']} events to fan out, {waiting['due']} deliveries due, "
                f"{waiting['stuck']} stuck deliveries to take back."
            )
            return
        result = deliver_due_webhooks(now=now)
        self.stdout.write(
            f"{result.events} events fanned out ({result.created} deliveries); {result.delivered} delivered, "
            f"{result.retrying} to retry, {result.failed} failed, {result.deferred} deferred, {result.stuck} stuck "
            f"taken back, {result.expired} expired, in {result.seconds:.2f} s."
        )
