"""Every change a shopper could see in a mall's catalogue bumps the mall's catalog_version
(public.tenants_merchant, see tenants 0007), in the changing transaction, so the page cache
(storefront/web/page_cache.py) never serves a page older than the data.

Created unqualified, i.e. in the schema being migrated; a mall cloned from the template gets
the function and triggers with the clone. The function updates the merchant whose schema is
the one of the table that fired (TG_TABLE_SCHEMA), never the session's search_path.

What does not bump: stock moving while the SKU stays in or out of stock, and sales counts
(both change with every order: bumping on them would empty the cache on every sale and make
the merchant row a hot spot under checkout). A SKU selling out or coming back does bump. The
pages show those counts as of the last bump or at most PAGE_CACHE_SECONDS old.

Insert and delete bump once per statement (a bulk import is one bump, not thousands);
update bumps per changed row, only when a column other than the ignored ones (the trigger's
arguments) changed.
"""

from django.db import migrations

BUMP_FUNCTION = """
CREATE OR REPLACE FUNCTION catalog_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF (to_jsonb(NEW) - TG_ARGV) = (to_jsonb(OLD) - TG_ARGV)
           AND ((to_jsonb(NEW) ->> 'stock')::bigint > 0)
               IS NOT DISTINCT FROM ((to_jsonb(OLD) ->> 'stock')::bigint > 0)
        THEN
            RETURN NULL;
        END IF;
    END IF;
    UPDATE public.tenants_merchant SET catalog_version = catalog_version + 1
     WHERE schema_name = TG_TABLE_SCHEMA;
    RETURN NULL;
END
$$;
"""

# table -> columns whose change alone is not shown on the shelf
WATCHED = {
    "catalog_category": [],
    "catalog_product": ["sales_count", "updated_at"],
    "catalog_productimage": [],
    "catalog_specdimension": [],
    "catalog_specvalue": [],
    "catalog_sku": ["sales_count", "stock"],
    "catalog_banner": [],
    "orders_discountrule": [],
}


def _triggers(table: str, ignored: list[str]) -> str:
    arguments = ", ".join(f"'{column}'" for column in ignored)
    return (
        f"CREATE TRIGGER {table}_bump_insert_delete AFTER INSERT OR DELETE OR TRUNCATE "
        f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump_version();"
        f"CREATE TRIGGER {table}_bump_update AFTER UPDATE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION catalog_bump_version({arguments});"
    )


def _drop(table: str) -> str:
    return (
        f"DROP TRIGGER IF EXISTS {table}_bump_insert_delete ON {table};"
        f"DROP TRIGGER IF EXISTS {table}_bump_update ON {table};"
    )


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0003_import_job"),
        ("orders", "0003_hardening_refunds"),
        ("tenants", "0007_merchant_catalog_version"),
    ]

    operations = [
        migrations.RunSQL(
            BUMP_FUNCTION, reverse_sql="DROP FUNCTION IF EXISTS catalog_bump_version();"
        ),
        *(
            migrations.RunSQL(_triggers(table, ignored), reverse_sql=_drop(table))
            for table, ignored in WATCHED.items()
        ),
    ]
