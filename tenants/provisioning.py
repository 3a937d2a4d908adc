"""Tenant schemas: the template, the pool of spare clones, and handing one to a new merchant.

Migrating a fresh schema takes seconds and cloning the template about a second, both growing
with every app. A signup must answer in well under a second whatever the tenant count, so a
background task keeps a few *spare* schemas cloned from the template, and a signup renames
one (`ALTER SCHEMA … RENAME`, milliseconds). PostgreSQL DDL is transactional: the rename,
the merchant's rows and its owner account commit together or not at all. With the pool
empty, the signup clones the template inline instead (slower, still correct).
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.clone import CLONE_SCHEMA_FUNCTION
from django_tenants.utils import schema_exists
from psycopg import sql

from tenants.errors import PlatformNotReady
from tenants.models import SpareSchema

logger = logging.getLogger(__name__)

SPARE_PREFIX = "spare_"
# Any constant works: it only has to be the same in every process that refills the pool.
_REFILL_LOCK_KEY = 0x5EA5C0DE


def template_schema() -> str:
    return settings.TENANT_BASE_SCHEMA


def _quoted(name: str) -> sql.Composable:
    return sql.Identifier(name)


def migration_fingerprint(schema_name: str) -> str | None:
    """A digest of the migrations applied in a schema, or None if it has none."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "SELECT md5(string_agg(app || '.' || name, ',' ORDER BY app, name)) FROM {}.{}"
            ).format(_quoted(schema_name), _quoted("django_migrations"))
        )
        return cursor.fetchone()[0]


def template_version() -> str:
    if not schema_exists(template_schema()):
        raise PlatformNotReady("The tenant template schema is missing: run build_tenant_template.")
    version = migration_fingerprint(template_schema())
    if version is None:
        raise PlatformNotReady("The tenant template schema has no migrations applied.")
    return version


def build_template(*, rebuild: bool = False, verbosity: int = 1) -> str:
    """Create or migrate the template schema; return its migration fingerprint.

    Also (re)installs the clone function once here, so signups never run
    `CREATE OR REPLACE FUNCTION` concurrently (PostgreSQL refuses that with
    "tuple concurrently updated").
    """
    connection.set_schema_to_public()
    template = template_schema()
    with connection.cursor() as cursor:
        if rebuild:
            cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(_quoted(template)))
        cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(_quoted(template)))
        db_user = settings.DATABASES["default"].get("USER") or "postgres"
        cursor.execute(CLONE_SCHEMA_FUNCTION.format(db_user=db_user))
    if rebuild or unapplied_migrations(template) != []:
        call_command(
            "migrate_schemas", schema_name=template, interactive=False, verbosity=verbosity
        )
    connection.set_schema_to_public()
    return template_version()


# clone_schema copies tables without their storage parameters (a table's fillfactor, set
# by a migration so its status changes can be HOT updates): copied here, table by table.
COPY_RELOPTIONS = """
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT c.relname, array_to_string(c.reloptions, ', ') AS options
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %(template)s AND c.relkind = 'r' AND c.reloptions IS NOT NULL
    LOOP
        EXECUTE format('ALTER TABLE %%I.%%I SET (%%s)', %(schema)s, t.relname, t.options);
    END LOOP;
END $$;
"""


def _clone_template(schema_name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT clone_schema(%s, %s, 'DATA')", [template_schema(), schema_name]
        )
        cursor.execute(COPY_RELOPTIONS, {"template": template_schema(), "schema": schema_name})


def _claim_spare(schema_name: str, version: str) -> bool:
    """Rename a current spare to `schema_name`; False when none is free.

    SKIP LOCKED lets concurrent signups each take a different spare without waiting.
    """
    spare = (
        SpareSchema.objects.select_for_update(skip_locked=True)
        .filter(template_version=version)
        .first()
    )
    if spare is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                _quoted(spare.schema_name), _quoted(schema_name)
            )
        )
    spare.delete()
    return True


def provision_schema(schema_name: str) -> str:
    """Create `schema_name` from a spare or the template. Must run inside the caller's
    transaction so a later failure rolls the schema back with everything else.

    Returns "spare" or "clone", the path taken (for logs and benchmarks).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("provision_schema must run inside transaction.atomic()")
    connection.set_schema_to_public()
    version = template_version()
    if _claim_spare(schema_name, version):
        return "spare"
    _clone_template(schema_name)
    return "clone"


def refill_spare_pool(*, target: int | None = None) -> int:
    """Drop spares cloned from an older template and clone new ones up to `target`.

    Returns how many spares were created. Up to TENANT_SPARE_REFILL_PARALLEL processes refill
    at once, each holding one slot (a session advisory lock); the others return at once. A
    burst of signups drains the pool faster than one clone at a time refills it (each signup
    queues a refill, so the worker's processes clone side by side); two refillers may
    together overshoot `target` by one spare, which the next signup takes.
    """
    target = settings.TENANT_SPARE_POOL_SIZE if target is None else target
    connection.set_schema_to_public()
    slot = _take_refill_slot()
    if slot is None:
        return 0
    try:
        version = template_version()
        for stale in SpareSchema.objects.exclude(template_version=version):
            with transaction.atomic(), connection.cursor() as cursor:
                # another refiller (or a signup) may be on this row: leave it to them
                locked = SpareSchema.objects.select_for_update(skip_locked=True).filter(
                    pk=stale.pk
                )
                if locked.first() is None:
                    continue
                cursor.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(_quoted(stale.schema_name))
                )
                stale.delete()
        created = 0
        while SpareSchema.objects.filter(template_version=version).count() < target:
            name = f"{SPARE_PREFIX}{uuid.uuid4().hex[:16]}"
            with transaction.atomic():
                _clone_template(name)
                SpareSchema.objects.create(schema_name=name, template_version=version)
            created += 1
        if created:
            logger.info("spare schema pool refilled with %d schema(s)", created)
        return created
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_REFILL_LOCK_KEY, slot])


def _take_refill_slot() -> int | None:
    """The first free refill slot, now held by this session; None when all are taken."""
    with connection.cursor() as cursor:
        for slot in range(max(1, settings.TENANT_SPARE_REFILL_PARALLEL)):
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_REFILL_LOCK_KEY, slot])
            if cursor.fetchone()[0]:
                return slot
    return None


def unapplied_migrations(schema_name: str) -> list[tuple[str, str]] | None:
    """The migrations on disk that `schema_name` has not recorded, or None when that cannot
    be told cheaply (no such schema or table, or squashed migrations, whose bookkeeping
    only `migrate` itself resolves): then the caller runs `migrate`.

    django-tenants records every app's migrations in every schema (the router only skips the
    operations), so a schema with nothing unapplied needs no `migrate` run, which costs
    seconds even when it does nothing.
    """
    from django.db.migrations.loader import MigrationLoader

    connection.set_schema_to_public()
    loader = MigrationLoader(None, ignore_no_migrations=True)
    if loader.replacements:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass(%s) IS NOT NULL",
            [sql.Identifier(schema_name, "django_migrations").as_string(cursor.connection)],
        )
        if not cursor.fetchone()[0]:
            return None
        cursor.execute(
            sql.SQL("SELECT app, name FROM {}.{}").format(
                _quoted(schema_name), _quoted("django_migrations")
            )
        )
        applied = set(cursor.fetchall())
    return sorted(set(loader.disk_migrations) - applied)


def pending_tenant_schemas(schema_names: list[str], *, batch: int = 200) -> list[str]:
    """The schemas whose applied migrations differ from the template's.

    A deploy with nothing to migrate then costs one query per `batch` tenants instead of a
    `migrate` per tenant (django-tenants #719: 900 tenants, 12 minutes).
    """
    version = template_version()
    pending: list[str] = []
    for start in range(0, len(schema_names), batch):
        chunk = schema_names[start : start + batch]
        query = sql.SQL(" UNION ALL ").join(
            sql.SQL(
                "SELECT {name}, (SELECT md5(string_agg(app || '.' || name, ',' "
                "ORDER BY app, name)) FROM {schema}.django_migrations)"
            ).format(name=sql.Literal(name), schema=_quoted(name))
            for name in chunk
        )
        with connection.cursor() as cursor:
            cursor.execute(query)
            pending.extend(name for name, digest in cursor.fetchall() if digest != version)
    return pending
