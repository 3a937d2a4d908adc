"""`manage.py migrate_platform`, the deploy step, migrates the malls whose migrations differ
from the template's through django-tenants' executors."""

import pytest
from django.core.management import call_command
from django.db import connection

from tenants import provisioning, services
from tests.conftest import OWNER_PASSWORD, ensure_default_plan

pytestmark = pytest.mark.usefixtures("committed_cleanup")


@pytest.fixture
def template_ahead():
    """Puts the template one migration ahead of the malls signed up so far (a row only it
    has), as after a deploy that added a migration; undone at the end."""

    def advance():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO tenant_template.django_migrations (app, name, applied) "
                "VALUES ('core', '9999_deploy_marker', now())"
            )

    yield advance
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM tenant_template.django_migrations WHERE name = '9999_deploy_marker'"
        )


@pytest.mark.parametrize("executor", ["standard", "multiprocessing"])
def test_a_mall_behind_the_template_is_migrated(template_ahead, executor, capsys):
    ensure_default_plan()
    merchant = services.merchant_signup(
        name="Behind", slug=f"behind-{executor[:5]}", owner_email="o@example.com",
        password=OWNER_PASSWORD,
    ).merchant
    connection.set_schema_to_public()
    template_ahead()
    assert provisioning.pending_tenant_schemas([merchant.schema_name]) == [
        merchant.schema_name
    ]

    call_command("migrate_platform", "--no-refill", f"--executor={executor}", verbosity=0)

    assert "1 tenant schema(s), 1 to migrate" in capsys.readouterr().out


def test_a_deploy_migrates_only_the_malls_behind_and_brings_them_to_head(monkeypatch, capsys):
    """A real migration undone in one mall: the deploy re-applies it there and runs no
    `migrate` at all in the mall already at head (the fingerprint check, not a per-mall
    migrate, decides; that is what keeps a no-op deploy at 10,000 malls within seconds)."""
    from tenants.management.commands import migrate_platform

    ensure_default_plan()
    at_head, behind = (
        services.merchant_signup(
            name=slug, slug=slug, owner_email="o@example.com", password=OWNER_PASSWORD
        ).merchant.schema_name
        for slug in ("at-head", "behind-real")
    )
    connection.set_schema_to_public()
    call_command(
        "migrate_schemas", "merchant_console", "0001", schema_name=behind,
        interactive=False, verbosity=0,
    )
    connection.set_schema_to_public()
    assert provisioning.migration_fingerprint(behind) != provisioning.template_version()
    assert provisioning.pending_tenant_schemas([at_head, behind]) == [behind]

    migrated: list[list[str]] = []
    real_get_executor = migrate_platform.get_executor

    def recording_get_executor(codename):
        executor_class = real_get_executor(codename=codename)

        class Recording(executor_class):
            def run_migrations(self, tenants=None):
                migrated.append(list(tenants))
                return super().run_migrations(tenants=tenants)

        return Recording

    monkeypatch.setattr(migrate_platform, "get_executor", recording_get_executor)
    call_command("migrate_platform", "--no-refill", "--executor=standard", verbosity=0)

    assert "2 tenant schema(s), 1 to migrate" in capsys.readouterr().out
    assert migrated == [[behind]]
    connection.set_schema_to_public()
    assert provisioning.migration_fingerprint(behind) == provisioning.template_version()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass(%s) IS NOT NULL", [f"{behind}.merchant_console_exportjob"]
        )
        assert cursor.fetchone()[0]
    assert provisioning.pending_tenant_schemas([at_head, behind]) == []


def test_a_deploy_with_nothing_new_runs_no_migrate_in_public_or_the_template(monkeypatch):
    """`migrate` costs seconds even with nothing to do; the deploy reads the recorded
    migrations instead and skips it where every migration on disk is applied."""
    from tenants.management.commands import migrate_platform

    assert provisioning.unapplied_migrations("public") == []
    assert provisioning.unapplied_migrations(provisioning.template_schema()) == []
    assert provisioning.unapplied_migrations("no_such_schema") is None
    ran: list[tuple] = []
    monkeypatch.setattr(migrate_platform, "call_command", lambda *a, **k: ran.append(a))
    monkeypatch.setattr(provisioning, "call_command", lambda *a, **k: ran.append(a))

    call_command("migrate_platform", "--no-refill", verbosity=0)

    assert ran == []


def _console_migrations_after_0001() -> list[tuple[str, str]]:
    from django.db.migrations.loader import MigrationLoader

    return sorted(
        key for key in MigrationLoader(None, ignore_no_migrations=True).disk_migrations
        if key[0] == "merchant_console" and key[1] != "0001_initial"
    )


def test_a_template_missing_a_migration_is_migrated_by_the_deploy():
    template = provisioning.template_schema()
    try:
        call_command(
            "migrate_schemas", "merchant_console", "0001", schema_name=template,
            interactive=False, verbosity=0,
        )
        connection.set_schema_to_public()
        assert provisioning.unapplied_migrations(template) == _console_migrations_after_0001()

        call_command("migrate_platform", "--no-refill", verbosity=0)

        assert provisioning.unapplied_migrations(template) == []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT to_regclass(%s) IS NOT NULL", [f"{template}.merchant_console_exportjob"]
            )
            assert cursor.fetchone()[0]
    finally:
        provisioning.build_template(verbosity=0)
