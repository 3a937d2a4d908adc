"""The suite's ledger guard (tests/conftest.py) sees what the triggers were kept from
refusing, in every schema, inside the test's own transaction. It is called directly here:
letting it fail these tests would prove nothing more and hide real failures."""

import pytest
from django.db import connection

from tests.conftest import ledger_drift
from tests.ledger.conftest import rolled_back, unbalanced_entry

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("where", ["active mall", "other mall", "tenant_template"])
def test_the_guard_reports_an_unbalanced_entry_in_any_schema(make_merchant, where):
    mall, other = make_merchant().merchant, make_merchant().merchant
    schema = {"active mall": mall.schema_name, "other mall": other.schema_name,
              "tenant_template": "tenant_template"}[where]
    assert ledger_drift() == []
    connection.set_schema(schema)
    with unbalanced_entry(100, -90) as entry_id:
        connection.set_tenant(mall)
        assert ledger_drift() == [
            f"{schema}: the legs sum to 10 fen",
            f"{schema}: entry {entry_id} has 2 leg(s) summing to 10",
        ]
        connection.set_schema(schema)
    connection.set_schema_to_public()
    assert ledger_drift() == []


def test_the_guard_reports_an_entry_without_legs(mall):
    with rolled_back():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_journalentry (source, source_key, memo, posted_at) "
                "VALUES ('payment', 'P1', '', now()) RETURNING id"
            )
            entry_id = cursor.fetchone()[0]
        assert ledger_drift() == [
            f"{mall.schema_name}: entry {entry_id} has 0 leg(s) summing to 0"
        ]
    assert ledger_drift() == []
