import json

from django.core.management.base import BaseCommand, CommandError

from core.integrity import check_integrity


class Command(BaseCommand):
    help = (
        "Verify the data's invariants (one open cart per user, a log per abandoned cart, no abandoned empty cart, "
        "totals equal to the lines, and every other app's rules). Exits non-zero when any is broken."
    )

    def add_arguments(self, parser):
        parser.add_argument("--examples", type=int, default=10, help="Offending rows shown per broken rule.")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the report as JSON.")

    def handle(self, *, examples: int, as_json: bool, **options):
        report = check_integrity(examples=examples)
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            for result in report.results:
                mark = "ok  " if result.ok else "FAIL"
                self.stdout.write(f"{mark} {result.name}: {result.count} offending — {result.promise}")
                for example in result.examples:
                    self.stdout.write(f"       {example}")
        if not report.ok:
            broken = ", ".join(f"{name} ({count})" for name, count in report.violations.items())
            raise CommandError(f"integrity check failed: {broken}")
        if not as_json:
            self.stdout.write(self.style.SUCCESS("All invariants hold."))
