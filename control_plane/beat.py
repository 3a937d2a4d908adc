"""Celery beat scheduler for a platform whose public schema is not a tenant row.

tenant-schemas-celery sends an entry either to every tenant (`tenant_schemas` absent) or to
the listed schemas it finds as tenant rows. The public host here is configuration, not a
row, so entries for the public schema are sent directly, in the public schema.
"""

from django.db import connection
from django_tenants.utils import get_public_schema_name
from tenant_schemas_celery.scheduler import TenantAwarePersistentScheduler


class PlatformScheduler(TenantAwarePersistentScheduler):
    def apply_entry(self, entry, producer=None):
        headers = entry.options.setdefault("headers", {})
        if headers.get("_schema_name") == get_public_schema_name():
            connection.set_schema_to_public()
            self.apply_async(entry, producer=producer, advance=False)
            return
        super().apply_entry(entry, producer=producer)
