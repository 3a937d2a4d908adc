"""`manage.py ledger_check [--schema NAME]`: check the ledger of every mall, or of one.

Prints a line per mall; exits with status 1 when any mall's ledger drifts. An entry point,
so it may read the tenants (the ledger app itself knows nothing of them).
"""

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from storefront.ledger.checks import ledger_check
from tenants.models import Merchant


class Command(BaseCommand):
    help = "Check every mall's ledger (or one, with --schema); exit 1 on any drift."

    def add_arguments(self, parser):
        parser.add_argument("--schema", help="check only this mall's schema")

    def handle(self, *args, schema=None, **options):
        schemas = list(
            Merchant.objects.exclude(schema_name="public")
            .order_by("schema_name").values_list("schema_name", flat=True)
        )
        if schema is not None:
            if schema not in schemas:
                raise CommandError(f"No mall has schema {schema!r}.", returncode=2)
            schemas = [schema]
        drifting = 0
        for name in schemas:
            with schema_context(name):
                report = ledger_check()
            if report.ok:
                entries, legs = report.figures["entries"], report.figures["legs"]
                self.stdout.write(
                    f"{name}: balanced ({entries} entr{'y' if entries == 1 else 'ies'}, "
                    f"{legs} leg{'' if legs == 1 else 's'})"
                )
                continue
            drifting += 1
            self.stdout.write(f"{name}: DRIFT")
            for problem in report.problems:
                self.stdout.write(f"  - {problem}")
        if drifting:
            raise CommandError(f"{drifting} of {len(schemas)} mall(s) drift.", returncode=1)
