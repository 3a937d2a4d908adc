"""`manage.py compliance_report --all-malls | --schema NAME [--run]`: the open compliance
alerts of every mall (or one), for platform admins; `--run` runs the monitor first.

Prints a line per mall and one per open alert. An entry point, so it may iterate the
tenants (DESIGN §3: platform-admin reports iterate them explicitly).
"""

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from storefront.distribution.compliance import compliance_monitor, open_alerts_of_every_mall
from tenants.models import Merchant


class Command(BaseCommand):
    help = "List the open compliance alerts of every mall (--all-malls) or of one (--schema)."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all-malls", action="store_true", help="every mall")
        which.add_argument("--schema", help="only this mall's schema")
        parser.add_argument("--run", action="store_true",
                            help="run the nightly monitor in each mall first")
        parser.add_argument("--limit", type=int, default=20, help="alerts shown per mall")

    def handle(self, *args, all_malls=False, schema=None, run=False, limit=20, **options):
        if schema is not None and not Merchant.objects.filter(schema_name=schema).exclude(
                schema_name="public").exists():
            raise CommandError(f"No mall has schema {schema!r}.", returncode=2)
        if run:
            for name in self._schemas(schema):
                with schema_context(name):
                    compliance_monitor()
        malls = open_alerts_of_every_mall(per_mall=limit, schema=schema)
        total = sum(mall.open for mall in malls)
        for mall in malls:
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(mall.by_kind.items()))
            self.stdout.write(f"{mall.slug} ({mall.schema_name}): {mall.open} open"
                              + (f" ({kinds})" if kinds else ""))
            for alert in mall.alerts:
                self.stdout.write(f"  - #{alert['id']} {alert['day']:%Y-%m-%d} "
                                  f"[{alert['kind']}] {alert['summary']}")
        self.stdout.write(f"{total} open alert(s) in {len(malls)} mall(s).")

    def _schemas(self, schema):
        if schema is not None:
            return [schema]
        return list(Merchant.objects.exclude(schema_name="public").order_by("slug")
                    .values_list("schema_name", flat=True))
