"""`manage.py tenant_command insights_rebuild --schema=<mall>` (or all_tenants_command):
recompute the dashboard rollups of a mall from its orders."""

from django.core.management.base import BaseCommand

from storefront.insights.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute the dashboard rollups of the current mall from its orders."

    def handle(self, *args, **options):
        rollups_rebuild()
        self.stdout.write("rollups rebuilt")
