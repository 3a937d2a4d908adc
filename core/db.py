"""Database-enforced rules, as migration operations.

`append_only(table)` makes PostgreSQL refuse every UPDATE and DELETE of a table's rows
(audit trails, ledger legs): no code path, ORM or raw SQL, can rewrite history. The trigger
function is created in each schema by core's first migration; a mall cloned from the
template gets the function and its triggers with the clone (django-tenants' clone_schema
copies functions, then recreates the triggers after the data).

Written by hand rather than with django-pgtrigger: pgtrigger's install SQL re-creates
`public._pgtrigger_should_ignore` in every schema's migration, which the parallel tenant
migrations would race on (concurrent CREATE OR REPLACE of one function fails with "tuple
concurrently updated"), and its `pgtrigger.ignore()` switch is a way round the rule that a
ledger must not have.
"""

from __future__ import annotations

from django.db import migrations

REFUSE_CHANGE_FUNCTION = """
CREATE OR REPLACE FUNCTION core_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% of a row of %.% refused: the table is append-only',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
"""


def refuse_change_function() -> migrations.RunSQL:
    return migrations.RunSQL(
        REFUSE_CHANGE_FUNCTION, reverse_sql="DROP FUNCTION IF EXISTS core_refuse_change();"
    )


def append_only(table: str) -> migrations.RunSQL:
    """Refuse UPDATE and DELETE on `table` (a plain, unquoted Django table name)."""
    trigger = f"{table}_append_only"
    return migrations.RunSQL(
        f'CREATE TRIGGER "{trigger}" BEFORE UPDATE OR DELETE ON "{table}" '
        f"FOR EACH ROW EXECUTE FUNCTION core_refuse_change();",
        reverse_sql=f'DROP TRIGGER IF EXISTS "{trigger}" ON "{table}";',
    )
