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
