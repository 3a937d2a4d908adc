"""A version of everything a mall shows its shoppers, for the storefront's page cache.

The cache keys every page by it (storefront/web/page_cache.py), so bumping it is what makes a
change visible on the next request. Bumped by PostgreSQL, never by application code, so no
code path (ORM, queryset.update(), an import job, a shell) can forget to: the catalogue's
tables bump it from each mall's schema (catalog 0004), and any change of the mall's own row
(name, logo, colour, phone, plan, status) bumps it here. It rides on the row the host lookup
already reads, so serving a cached page costs no query of its own.
"""

from django.db import migrations, models

MERCHANT_BUMP = """
CREATE OR REPLACE FUNCTION tenants_merchant_bump_catalog_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (to_jsonb(NEW) - 'catalog_version') IS DISTINCT FROM (to_jsonb(OLD) - 'catalog_version')
    THEN
        NEW.catalog_version := OLD.catalog_version + 1;
    ELSIF NEW.catalog_version < OLD.catalog_version THEN
        -- a save() of a row read before a bump never moves the version back
        NEW.catalog_version := OLD.catalog_version;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tenants_merchant_catalog_version
    BEFORE UPDATE ON tenants_merchant
    FOR EACH ROW EXECUTE FUNCTION tenants_merchant_bump_catalog_version();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("tenants", "0006_wechat_applyment"),
    ]

    operations = [
        migrations.AddField(
            model_name="merchant",
            name="catalog_version",
            field=models.BigIntegerField(
                default=0, editable=False,
                help_text="Bumped by PostgreSQL on every change shoppers can see.",
            ),
        ),
        migrations.RunSQL(
            MERCHANT_BUMP,
            reverse_sql=(
                "DROP TRIGGER IF EXISTS tenants_merchant_catalog_version ON tenants_merchant;"
                "DROP FUNCTION IF EXISTS tenants_merchant_bump_catalog_version();"
            ),
        ),
    ]
