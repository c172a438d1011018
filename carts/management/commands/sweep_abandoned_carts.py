from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from carts.sweep import stale_carts, sweep_abandoned_carts

# A dry run names this many of the carts it would mark (the oldest first), then says how many more there are.
DRY_RUN_LISTED = 50


def _carts(n: int) -> str:
    return f"{n} cart" if n == 1 else f"{n} carts"


class Command(BaseCommand):
    help = (
        "Sweep once now: mark active carts with items, untouched for longer than CART_ABANDON_AFTER_SECONDS, as "
        "abandoned and log each cart's first abandonment. Safe beside the scheduler and another sweep."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=f"Mark nothing; say how many carts would be marked and list the {DRY_RUN_LISTED} oldest.",
        )
        parser.add_argument(
            "--older-than",
            type=int,
            metavar="SECONDS",
            help="Inactivity threshold in seconds (default: the CART_ABANDON_AFTER_SECONDS setting).",
        )
        parser.add_argument("--batch-size", type=int, help="Carts per transaction (default: CART_SWEEP_BATCH_SIZE).")

    def handle(self, *, dry_run: bool, older_than: int | None, batch_size: int | None, **options):
        if older_than is not None and older_than < 0:
            raise CommandError("--older-than must be a number of seconds, 0 or more.")
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        now = timezone.now()
        result = sweep_abandoned_carts(now=now, older_than_seconds=older_than, batch_size=batch_size, dry_run=dry_run)
        if result.dry_run:
            self.stdout.write(
                f"Dry run: {_carts(result.would_mark)} would be marked abandoned (counted in {result.seconds:.2f} s)."
            )
            self._list_stale(now=now, older_than=older_than, count=result.would_mark)
        else:
            self.stdout.write(
                f"{_carts(result.marked)} marked abandoned ({result.logged} first abandonments logged) "
                f"in {result.batches} batches, {result.seconds:.2f} s."
            )

    def _list_stale(self, *, now, older_than: int | None, count: int) -> None:
        oldest = (
            stale_carts(now=now, older_than_seconds=older_than)
            .order_by("last_updated", "id")
            .values_list("id", "user__email", "item_count", "total", "last_updated")[:DRY_RUN_LISTED]
        )
        for cart_id, email, item_count, total, last_updated in oldest:
            self.stdout.write(
                f"  cart {cart_id}  {email}  {item_count} units, {total}  last updated {last_updated.isoformat()}"
            )
        if count > DRY_RUN_LISTED:
            self.stdout.write(f"  ... and {count - DRY_RUN_LISTED} more.")
