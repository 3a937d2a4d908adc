"""Shared fixtures: the tenant template in the test database, merchants made through the
real signup service, and clean-up of schemas that committed tests leave behind."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection, transaction
from django.test import Client
from django_tenants.utils import schema_context
from psycopg import sql
from psycopg.pq import TransactionStatus
from pytest_django.plugin import blocking_manager_key

from billing.models import Plan
from tenants import provisioning, services

OWNER_PASSWORD = "correct-horse-battery-9"
_slug_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Migrate the test database as a deploy does, and build the tenant template."""
    with django_db_blocker.unblock():
        provisioning.build_template(verbosity=0)


def ensure_default_plan() -> Plan:
    """Transactional tests flush public tables, seeded plans included: put one back."""
    plan, _ = Plan.objects.get_or_create(
        code="starter",
        defaults={"name": "Starter", "monthly_price_fen": 9900, "max_products": 200,
                  "max_staff": 3, "trial_days": 14, "is_default": True},
    )
    return plan


def ensure_seeded_plans() -> None:
    """Starter, Growth and Pro as the billing migrations seed them (transactional tests
    flush them with every public table)."""
    import importlib

    from django.apps import apps

    for migration in ("0002_seed_plans", "0003_plan_limits"):
        importlib.import_module(f"billing.migrations.{migration}").seed(apps, None)
def ensure_pro_plan() -> Plan:
    """The plan that allows every distribution feature and a domain of one's own (the
    seeded Pro; put back if a transactional test flushed it)."""
    plan, _ = Plan.objects.get_or_create(
        code="pro",
        defaults={"name": "Pro", "monthly_price_fen": 99900, "max_products": 0,
                  "max_staff": 0, "max_distribution_tiers": 3, "custom_domain": True,
                  "marketing_plugins": ["level_rates", "stage_bonus", "team_reward"],
                  "sort_order": 3},
    )
    return plan


def move_to_plan(merchant, plan: Plan) -> None:
    """Put a mall on `plan` (the row, and the object the connection and tests hold)."""
    type(merchant).objects.filter(pk=merchant.pk).update(plan=plan)
    merchant.plan = plan
    tenant = getattr(connection, "tenant", None)
    if getattr(tenant, "pk", None) == merchant.pk:
        tenant.plan = plan


def unique_slug(prefix: str = "shop") -> str:
    return f"{prefix}-{next(_slug_numbers)}"


def drop_merchant_schemas() -> None:
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace "
            "WHERE nspname LIKE 'm\\_%' OR nspname LIKE 'spare\\_%'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture
def make_merchant(db):
    """Sign a merchant up through the real service. Inside a `db` test everything,
    schema included, rolls back at the end."""

    def _make(slug: str | None = None, name: str = "Test Mall", **kwargs):
        ensure_default_plan()
        return services.merchant_signup(
            name=name,
            slug=slug or unique_slug(),
            owner_email=kwargs.pop("owner_email", "owner@example.com"),
            password=kwargs.pop("password", OWNER_PASSWORD),
        )

    return _make


@pytest.fixture
def two_merchants(make_merchant):
    return make_merchant(name="Alpha Mall"), make_merchant(name="Beta Mall")


@pytest.fixture
def committed_cleanup(transactional_db):
    """For tests that really commit: drop the schemas they created afterwards."""
    yield
    drop_merchant_schemas()


def host_client(merchant_or_host) -> Client:
    host = (
        merchant_or_host
        if isinstance(merchant_or_host, str)
        else merchant_or_host.primary_host.split(":")[0]
    )
    return Client(HTTP_HOST=host)


def tenant_users(schema_name: str) -> list[str]:
    from django.contrib.auth import get_user_model

    with schema_context(schema_name):
        return list(get_user_model().objects.values_list("email", flat=True))


@pytest.fixture
def mall(make_merchant):
    """One mall whose schema is active for the test body (rolled back afterwards)."""
    merchant = make_merchant(name="Test Mall").merchant
    connection.set_tenant(merchant)
    yield merchant
    connection.set_schema_to_public()


@pytest.fixture
def pro_plan(mall):
    """The test mall on a plan that allows 3 tiers, every marketing plugin and a custom
    domain: for tests of those features rather than of the plan's limits."""
    plan = ensure_pro_plan()
    move_to_plan(mall, plan)
    return plan


@pytest.fixture
def mall_client(mall):
    return host_client(mall)


@pytest.fixture
def other_mall(make_merchant):
    """A second mall, for checks that nothing crosses over. Its schema is not active."""
    merchant = make_merchant(name="Other Mall").merchant
    return merchant


# --- The ledger guard --------------------------------------------------------------------
# Every database test ends with the ledger of every schema balanced, checked on the data
# itself just before pytest-django rolls the test's transaction back. Why: the database
# rules are triggers, and a rolled-back transaction never reaches COMMIT, where the deferred
# has-legs trigger fires (Django's TestCase teardown forces deferred checks with SET
# CONSTRAINTS ALL IMMEDIATE, but only while the transaction is still healthy). Nor would a
# trigger that a clone lost, a migration replaced, or a test disabled refuse anything. So a
# test whose code leaves an unbalanced or leg-less entry behind fails here, whichever rule
# was bypassed. Cost: one catalog query, then one query per schema with ledger tables.

_LEDGER_SCHEMAS = (
    "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid "
    "WHERE c.relname IN ('ledger_journalentry', 'ledger_journalleg') AND c.relkind = 'r' "
    "GROUP BY n.nspname HAVING count(*) = 2 ORDER BY n.nspname"
)
_LEDGER_DRIFT = sql.SQL(
    "SELECT (SELECT coalesce(sum(amount_fen), 0) FROM {legs}), "
    "(SELECT string_agg('entry ' || id || ' has ' || n || ' leg(s) summing to ' || total, '; ') "
    " FROM (SELECT e.id, count(l.id) AS n, coalesce(sum(l.amount_fen), 0) AS total "
    "       FROM {entries} e LEFT JOIN {legs} l ON l.entry_id = e.id GROUP BY e.id "
    "       HAVING count(l.id) < 2 OR coalesce(sum(l.amount_fen), 0) <> 0 "
    "       ORDER BY e.id LIMIT 5) AS bad)"
)


def ledger_drift() -> list[str]:
    """What is wrong with the ledger of every schema that has one (malls, spares and
    tenant_template), as seen by the current connection and transaction."""
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(_LEDGER_SCHEMAS)
        for (schema,) in cursor.fetchall():
            cursor.execute(_LEDGER_DRIFT.format(
                legs=sql.Identifier(schema, "ledger_journalleg"),
                entries=sql.Identifier(schema, "ledger_journalentry"),
            ))
            total, bad = cursor.fetchone()
            if total:
                problems.append(f"{schema}: the legs sum to {total} fen")
            if bad:
                problems.append(f"{schema}: {bad}")
    return problems


def _uses_database(item) -> bool:
    """A test asks for the database with the db / transactional_db fixtures (directly or
    through `mall`, `make_merchant`...) or with the django_db mark, whose fixture pytest-django
    requests at run time, out of `fixturenames`."""
    names = set(getattr(item, "fixturenames", ()))
    return bool(names & {"db", "transactional_db"}) or item.get_closest_marker("django_db")


def _connection_usable() -> bool:
    """False inside a transaction a failed statement aborted or Django marked for rollback
    (every query would fail; the test has failed already), or when the test left the
    connection closed mid-transaction."""
    raw = connection.connection
    if raw is None:
        return not connection.in_atomic_block
    return not connection.needs_rollback and (
        raw.info.transaction_status != TransactionStatus.INERROR
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Runs before the fixtures' finalizers (pytest-django's rollback among them)."""
    problems = []
    if _uses_database(item):
        with item.config.stash[blocking_manager_key].unblock():
            if _connection_usable():
                try:
                    # A savepoint: should the guard's own query fail, the test's
                    # transaction stays usable for its rollback.
                    with transaction.atomic():
                        problems = ledger_drift()
                except Exception as exc:  # reported below, after the fixtures' teardown
                    problems = [f"the ledger guard could not run: {exc!r}"]
    message = "The ledger is out of balance at the end of the test:\n" + "\n".join(problems)
    try:
        result = yield
    except BaseException as exc:  # the teardown failed too: keep its error, add ours
        if problems:
            exc.add_note(message)
        raise
    if _uses_database(item):
        _vacuum_catalogs_now_and_then()
    if problems:
        pytest.fail(message, pytrace=False)
    return result


# Nearly every test signs a mall up, i.e. clones the tenant template (about 90 tables) and
# rolls it back: thousands of dead rows in pg_attribute, pg_class, pg_depend... per test.
# Autovacuum does not keep up over a whole run, and a clone in the bloated catalogs took
# 5 s instead of 0.5 s (measured: the suite slowed down as it went). So every
# CATALOG_VACUUM_EVERY database tests the catalogs are vacuumed, on a connection of its own
# (VACUUM cannot run in the test's transaction; this runs after its rollback), and the
# tests' connection is opened again.
CATALOG_VACUUM_EVERY = 25
_CATALOGS = ("pg_attribute", "pg_class", "pg_depend", "pg_type", "pg_constraint", "pg_index",
             "pg_trigger", "pg_attrdef", "pg_sequence")
_database_tests = [0]


def _vacuum_catalogs_now_and_then() -> None:
    import psycopg
    from django.db import connections

    _database_tests[0] += 1
    if _database_tests[0] % CATALOG_VACUUM_EVERY:
        return
    params = connections["default"].get_connection_params()
    django_only = ("cursor_factory", "context", "prepare_threshold", "server_side_binding")
    params = {key: value for key, value in params.items() if key not in django_only}
    try:
        with psycopg.connect(**params, autocommit=True) as vacuum:
            for table in _CATALOGS:
                vacuum.execute(f"VACUUM pg_catalog.{table}")
    except psycopg.Error:
        pass  # a database the tests may not vacuum (not a superuser): only slower
    # The test connection's own caches grow with every schema it created and dropped (its
    # backend reached 800 MB and cloned in 4 s where a new one took 0.6 s): start afresh.
    for connection_ in connections.all():
        if not connection_.in_atomic_block:
            connection_.close()


def pytest_sessionfinish(session, exitstatus):
    """Stop the embedded PostgreSQL and Redis the test run started (none when the
    environment gave DATABASE_URL / REDIS_URL)."""
    from django.db import connections

    from control_plane import embedded

    connections.close_all()
    embedded.stop_services()


# --- Console staff -----------------------------------------------------------------------

@pytest.fixture
def staff_client(mall):
    """`staff_client("finance")`: a client of the mall's host signed in as a new member of
    staff with that role ("owner" signs in as the mall's owner)."""
    from django.contrib.auth import get_user_model

    from merchant_console.roles import OWNER, role_group

    numbers = itertools.count(1)

    def _make(role: str):
        User = get_user_model()
        if role == OWNER:
            user = User.objects.get(is_superuser=True)
        else:
            email = f"{role}-{next(numbers)}@example.com"
            user = User.objects.create_user(username=email, email=email, password=OWNER_PASSWORD,
                                            is_staff=True)
            user.groups.set([role_group(role)])
        client = host_client(mall)
        client.force_login(user)
        client.user = user
        return client

    return _make
