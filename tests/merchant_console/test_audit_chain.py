"""The staff audit log is a hash chain: intact after real actions, broken (and reported by
`manage.py audit_check`) after a row is altered or removed in the database."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import IntegrityError

from merchant_console.audit import audit_chain_verify, audit_record
from merchant_console.models import AuditEntry


def _record_three(user):
    for n in range(3):
        audit_record(actor=user, area="goods", action="product.update", target=f"P{n}",
                     detail={"price_fen": 1000 + n, "名称": "茶"})


def test_the_chain_verifies_after_real_actions(mall, staff_client):
    owner = staff_client("owner").user
    _record_three(owner)
    checked, broken = audit_chain_verify()
    assert (checked, broken) == (3, None)
    rows = list(AuditEntry.objects.order_by("id"))
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    call_command("audit_check", schema=mall.schema_name)


def test_rows_cannot_be_updated_or_deleted_through_sql(mall, staff_client):
    _record_three(staff_client("owner").user)
    for statement in ("UPDATE merchant_console_auditentry SET target = 'x'",
                      "DELETE FROM merchant_console_auditentry"):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(statement)


@pytest.mark.parametrize("tamper", [
    "UPDATE merchant_console_auditentry SET detail = '{\"price_fen\": 1}' WHERE target = 'P1'",
    "DELETE FROM merchant_console_auditentry WHERE target = 'P1'",
    "UPDATE merchant_console_auditentry SET actor_email = 'someone@else.com' WHERE target = 'P0'",
])
def test_an_altered_or_removed_row_breaks_the_chain(mall, staff_client, tamper, capsys):
    _record_three(staff_client("owner").user)
    with connection.cursor() as cursor:  # what someone with database access could do
        cursor.execute("SET LOCAL session_replication_role = replica")  # triggers off
        cursor.execute(tamper)
        cursor.execute("SET LOCAL session_replication_role = origin")
    checked, broken = audit_chain_verify()
    assert broken is not None and checked < 3
    with pytest.raises(CommandError) as failure:
        call_command("audit_check", schema=mall.schema_name)
    assert failure.value.returncode == 1
    assert "BROKEN" in capsys.readouterr().out


def test_the_audit_page_filters_and_verifies(mall, staff_client):
    owner = staff_client("owner")
    _record_three(owner.user)
    audit_record(actor=owner.user, area="finance", action="statement.approve", target="S1")
    page = owner.get("/console/settings/audit/", {"area": "finance"}).content.decode()
    assert "statement.approve" in page and "product.update" not in page
    by_person = owner.get("/console/settings/audit/", {"person": "nobody@"}).content.decode()
    assert "product.update" not in by_person
    verified = owner.get("/console/settings/audit/", {"verify": "1"}).content.decode()
    assert "The chain is intact: 4 entries checked." in verified
