"""`manage.py audit_check [--schema NAME]`: prove each mall's staff audit chain unbroken.

Prints a line per mall; exits with status 1 when any chain is broken (a row altered,
removed or inserted in the database behind the console's back)."""

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from merchant_console.audit import audit_chain_verify
from tenants.models import Merchant


class Command(BaseCommand):
    help = "Verify every mall's staff audit chain (or one, with --schema); exit 1 if broken."

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
        broken_malls = 0
        for name in schemas:
            with schema_context(name):
                checked, broken = audit_chain_verify()
            if broken is None:
                self.stdout.write(f"{name}: intact ({checked} entries)")
                continue
            broken_malls += 1
            self.stdout.write(
                f"{name}: BROKEN at entry {broken.entry_id} ({broken.reason}); "
                f"{checked} entries before it verified"
            )
        if broken_malls:
            raise CommandError(
                f"{broken_malls} of {len(schemas)} mall(s) have a broken audit chain.",
                returncode=1,
            )
