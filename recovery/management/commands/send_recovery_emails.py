from django.core.management.base import BaseCommand
from django.utils import timezone

from recovery.planning import would_plan
from recovery.sending import due_to_send, send_due_recovery_emails


class Command(BaseCommand):
    help = (
        "Send the recovery emails that are due now, once (the cron alternative to the scheduler's emails job; safe "
        "beside it: each reminder is claimed before it is sent). --dry-run says what would be sent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Send and write nothing; say what is due.")

    def handle(self, *, dry_run: bool, **options):
        now = timezone.now()
        if dry_run:
            planned = would_plan(now=now)
            steps = ", ".join(f"step {step}: {count}" for step, count in planned.items()) or "no steps configured"
            self.stdout.write(
                f"Dry run: {sum(planned.values())} reminders would be planned ({steps}); "
                f"{due_to_send(now=now)} already planned are due to be tried."
            )
            return
        result = send_due_recovery_emails(now=now)
        self.stdout.write(
            f"{result.sent} sent, {result.retrying} to retry, {result.failed} failed for good, "
            f"{result.cancelled} cancelled, {result.skipped} skipped ({result.planned} planned) "
            f"in {result.seconds:.2f} s."
        )
