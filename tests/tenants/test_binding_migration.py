"""The data migration that introduced binding approval: bindings verified before it are
approved (by the system, saying why), so live malls keep taking payments at the deploy."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.actors import Actor
from tenants.models import BindingStatus, WeChatBinding

BEFORE = [("tenants", "0003_merchant_status_change_actor")]
AFTER = [("tenants", "0004_wechat_binding_review")]


@pytest.fixture
def malls(make_merchant):
    """Made with today's model, before the tables are taken back to 0003 (later migrations
    add columns to tenants_merchant that 0003 does not have)."""
    return make_merchant().merchant, make_merchant().merchant


@pytest.fixture
def tenants_at_0003(malls):
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as if committed: ALTER TABLE may run
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("tenants"))


def test_verified_bindings_become_approved_with_an_audit_row(malls, tenants_at_0003):
    live, unverified = malls
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        for merchant, sub_mchid, status in ((live, "1900000109", "verified"),
                                            (unverified, "1900000110", "unverified")):
            cursor.execute(
                "INSERT INTO tenants_wechatbinding (merchant_id, sub_mchid, sub_appid, "
                "miniprogram_appid, app_secret_encrypted, status, last_error, updated_at) "
                "VALUES (%s, %s, 'wx0123456789abcdef', '', '', %s, '', now())",
                [merchant.pk, sub_mchid, status],
            )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as if committed: ALTER TABLE may run

    MigrationExecutor(connection).migrate(AFTER)
    cursor = connection.cursor()
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    approved = WeChatBinding.objects.get(merchant=live)
    assert approved.status == BindingStatus.APPROVED
    change = approved.status_changes.get()
    assert (change.from_status, change.to_status, change.actor) == (
        "", "approved", Actor.system()
    )
    assert change.reason == "bound before platform approval was required"
    assert change.reference == "1900000109"
    pending = WeChatBinding.objects.get(merchant=unverified)
    assert pending.status == BindingStatus.PENDING
    assert pending.status_changes.get().to_status == "pending"
