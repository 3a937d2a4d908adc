"""Shared fixtures: the tenant template in the test database, merchants made through the
real signup service, and clean-up of schemas that committed tests leave behind."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

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
def mall_client(mall):
    return host_client(mall)


@pytest.fixture
def other_mall(make_merchant):
    """A second mall, for checks that nothing crosses over. Its schema is not active."""
    merchant = make_merchant(name="Other Mall").merchant
    return merchant


def pytest_sessionfinish(session, exitstatus):
    """Stop the embedded PostgreSQL and Redis the test run started (none when the
    environment gave DATABASE_URL / REDIS_URL)."""
    from django.db import connections

    from control_plane import embedded

    connections.close_all()
    embedded.stop_services()
