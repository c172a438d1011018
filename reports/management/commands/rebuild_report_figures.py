from django.core.management.base import BaseCommand

from carts.figures import rebuild_figures
from recovery.figures import rebuild_step_figures


class Command(BaseCommand):
    help = (
        "Rebuild the report's figure rows from the carts and the emails in the database (the part of carts deleted by "
        "retention is kept). Run it after importing data by SQL, or when check_integrity says they differ."
    )

    def handle(self, **options):
        carts = rebuild_figures()
        steps = rebuild_step_figures()
        self.stdout.write(f"Rebuilt {carts} figure rows of carts and {steps} of reminder steps.")
