"""PostgreSQL itself keeps the ledger append-only and balanced, whatever path writes to it.

Every test runs in a mall signed up in the test through the real service, i.e. a schema
cloned from tenant_template: the rules below hold in clones, not only where the migration
ran."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from psycopg import sql

from storefront.ledger.models import Account, JournalEntry, JournalLeg
from storefront.ledger.services import entry_post
from tests.ledger.conftest import rolled_back, sale

pytestmark = pytest.mark.usefixtures("mall")

LEGS = "INSERT INTO ledger_journalleg (entry_id, account_id, amount_fen) VALUES "
TRIGGERS = {
    ("ledger_journalentry", "ledger_journalentry_append_only", "core_refuse_change"),
    ("ledger_journalentry", "ledger_journalentry_has_legs", "ledger_refuse_entry_without_legs"),
    ("ledger_journalleg", "ledger_journalleg_append_only", "core_refuse_change"),
    ("ledger_journalleg", "ledger_journalleg_balanced", "ledger_refuse_unbalanced_legs"),
}


def refused(sql: str, params=(), *, match: str) -> None:
    """Run `sql` in a savepoint and require PostgreSQL to refuse it."""
    with pytest.raises(IntegrityError, match=match), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(sql, params)


def posted():
    entry = entry_post(source="payment", source_key="P1", legs=sale(10000), order_id=7)
    return entry, list(entry.legs.order_by("id"))


def snapshot() -> list[tuple]:
    return list(JournalLeg.objects.values_list("id", "entry_id", "account_id", "amount_fen")) + [
        tuple(JournalEntry.objects.values_list("id", "source", "source_key", "order_id", "memo"))
    ]


def account_id(code: str, party: str = "") -> int:
    return Account.objects.get_or_create(code=code, party=party)[0].pk


def new_entry_id(key: str) -> int:
    """An entry row inserted by hand, inside `rolled_back()`: left without legs, it would
    be refused at the end of the test (by Django's teardown, which runs SET CONSTRAINTS ALL
    IMMEDIATE, and by the suite's ledger guard)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_journalentry (source, source_key, memo, posted_at) "
            "VALUES ('manual', %s, '', now()) RETURNING id", [key]
        )
        return cursor.fetchone()[0]


def test_a_mall_signed_up_after_the_migration_has_every_rule(make_merchant):
    """Its schema is cloned from the template (directly, or renamed from a spare cloned
    from it): the triggers exist and call the functions copied into its own schema, not
    the template's, and they refuse what they must."""
    signup = make_merchant()
    schema = signup.merchant.schema_name
    assert signup.provisioned_by in {"clone", "spare"}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname, p.proname, pn.nspname "
            "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace "
            "WHERE n.nspname = %s AND c.relname LIKE 'ledger\\_%%' AND NOT t.tgisinternal",
            [schema],
        )
        rows = cursor.fetchall()
    assert {(table, trigger, function) for table, trigger, function, _ in rows} == TRIGGERS
    assert {function_schema for *_, function_schema in rows} == {schema}

    connection.set_tenant(signup.merchant)
    entry, _ = posted()
    refused("UPDATE ledger_journalleg SET amount_fen = -amount_fen", match="append-only")
    refused("DELETE FROM ledger_journalentry", match="append-only")
    refused(
        LEGS + "(%s, %s, 1)",
        [entry.pk, account_id("wechat_fees")], match="unbalanced",
    )
    with rolled_back():
        entry_id = new_entry_id("M1")
        refused("SET CONSTRAINTS ledger_journalentry_has_legs IMMEDIATE",
                match=f"journal entry {entry_id} .* has 0 leg")


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_journalleg SET amount_fen = amount_fen * 2",
    "UPDATE ledger_journalleg SET account_id = account_id",
    "DELETE FROM ledger_journalleg",
    "UPDATE ledger_journalentry SET memo = 'rewritten'",
    "UPDATE ledger_journalentry SET source_key = 'P2'",
    "DELETE FROM ledger_journalentry",
])
def test_raw_update_and_delete_of_posted_rows_are_refused(statement):
    posted()
    before = snapshot()
    refused(statement, match="append-only")
    assert snapshot() == before


def test_orm_update_and_delete_of_posted_rows_are_refused():
    entry, legs = posted()
    before = snapshot()
    with pytest.raises(IntegrityError, match="UPDATE of a row of .*ledger_journalleg"), \
            transaction.atomic():
        JournalLeg.objects.filter(pk=legs[0].pk).update(amount_fen=1)
    with pytest.raises(IntegrityError, match="UPDATE of a row"), transaction.atomic():
        legs[0].amount_fen = 1
        legs[0].save()
    with pytest.raises(IntegrityError, match="DELETE of a row"), transaction.atomic():
        legs[1].delete()
    with pytest.raises(IntegrityError, match="UPDATE of a row of .*ledger_journalentry"), \
            transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).update(memo="rewritten")
    with pytest.raises(ProtectedError), transaction.atomic():
        entry.delete()  # Django refuses first (PROTECT); the raw test shows PostgreSQL does too
    assert snapshot() == before


def test_a_balanced_raw_insert_is_accepted():
    """The control for the refusals below: the triggers refuse bad legs, not all legs."""
    with rolled_back():
        entry_id = new_entry_id("M1")
        with connection.cursor() as cursor:
            cursor.execute(
                LEGS + "(%s, %s, 250), (%s, %s, -250)",
                [entry_id, account_id("wechat_clearing"), entry_id, account_id("sales_revenue")],
            )
            cursor.execute("SET CONSTRAINTS ledger_journalentry_has_legs IMMEDIATE")
        assert JournalLeg.objects.filter(entry_id=entry_id).count() == 2


@pytest.mark.parametrize("amounts", [(100, -99), (100, 1), (-1, -1, 2, 1), (100,), (-5,)])
def test_unbalanced_or_one_leg_raw_insert_is_refused(amounts):
    with rolled_back():
        entry_id = new_entry_id("M1")
        clearing = account_id("wechat_clearing")
        values = ", ".join(["(%s, %s, %s)"] * len(amounts))
        params = [x for amount in amounts for x in (entry_id, clearing, amount)]
        refused(
            LEGS + values, params, match="is unbalanced",
        )
        assert not JournalLeg.objects.exists()


def test_legs_split_over_two_statements_are_refused():
    """Each INSERT is checked on its own: the first half of an entry never stands."""
    with rolled_back():
        entry_id = new_entry_id("M1")
        clearing, revenue = account_id("wechat_clearing"), account_id("sales_revenue")
        refused(
            LEGS + "(%s, %s, 100)",
            [entry_id, clearing], match="is unbalanced",
        )
        refused(
            LEGS + "(%s, %s, -100)",
            [entry_id, revenue], match="is unbalanced",
        )


def test_one_bad_entry_fails_the_whole_statement():
    with rolled_back():
        good, bad = new_entry_id("M1"), new_entry_id("M2")
        clearing, revenue = account_id("wechat_clearing"), account_id("sales_revenue")
        refused(
            LEGS + "(%s, %s, 100), (%s, %s, -100), (%s, %s, 100), (%s, %s, -90)",
            [good, clearing, good, revenue, bad, clearing, bad, revenue],
            match=f"journal entry {bad} .* is unbalanced",
        )
        assert not JournalLeg.objects.exists()


def test_balanced_legs_cannot_be_added_to_a_posted_entry():
    entry, _ = posted()
    fees, clearing = account_id("wechat_fees"), account_id("wechat_clearing")
    refused(
        LEGS + "(%s, %s, 60), (%s, %s, -60)",
        [entry.pk, fees, entry.pk, clearing], match="cannot be added to a posted entry",
    )
    assert entry.legs.count() == 2


def test_orm_legs_that_do_not_balance_are_refused():
    with rolled_back():
        entry_id = new_entry_id("M1")
        with pytest.raises(IntegrityError, match="is unbalanced"), transaction.atomic():
            JournalLeg.objects.bulk_create([
                JournalLeg(entry_id=entry_id, account_id=account_id("wechat_clearing"),
                           amount_fen=100),
                JournalLeg(entry_id=entry_id, account_id=account_id("sales_revenue"),
                           amount_fen=-10),
            ])


def test_an_entry_without_legs_is_refused_when_its_constraints_are_checked():
    """At commit in real life (see test_committed.py); SET CONSTRAINTS … IMMEDIATE runs the
    deferred check now, inside this test's rolled-back transaction."""
    with rolled_back():
        entry_id = new_entry_id("M1")
        refused("SET CONSTRAINTS ledger_journalentry_has_legs IMMEDIATE",
                match=f"journal entry {entry_id} \\(manual:M1\\) .* has 0 leg\\(s\\)")


def test_zero_legs_and_bad_accounts_are_refused_row_by_row():
    with rolled_back():
        entry_id = new_entry_id("M1")
        refused(
            LEGS + "(%s, %s, 0)",
            [entry_id, account_id("wechat_clearing")], match="ledger_leg_not_zero",
        )
        refused("INSERT INTO ledger_account (code, party) VALUES ('cash', '')",
                match="ledger_account_known_code")
        refused("INSERT INTO ledger_account (code, party) VALUES ('distributor_payable', '')",
                match="ledger_account_party_rule")
        refused("INSERT INTO ledger_account (code, party) VALUES ('sales_revenue', 'openid:o1')",
                match="ledger_account_party_rule")


def test_the_rules_read_the_schema_that_fired_them_not_the_search_path(mall, other_mall):
    """Rows written into another mall's tables (qualified names) while this mall's schema
    is the search_path are checked against the other mall's legs: a balanced entry passes,
    an unbalanced one is refused, a leg-less one is refused at its constraint check."""
    other = other_mall.schema_name
    connection.set_tenant(other_mall)
    clearing, revenue = account_id("wechat_clearing"), account_id("sales_revenue")
    connection.set_tenant(mall)
    entry_post(source="payment", source_key="P1", legs=sale(100))  # this mall has legs too
    schema = sql.Identifier(other)
    entry_sql, legs_sql, check_sql = (
        sql.SQL("INSERT INTO {}.ledger_journalentry (source, source_key, memo, posted_at) "
                "VALUES ('manual', %s, '', now()) RETURNING id").format(schema),
        sql.SQL("INSERT INTO {}.ledger_journalleg (entry_id, account_id, amount_fen) "
                "VALUES (%s, %s, 70), (%s, %s, %s)").format(schema),
        sql.SQL("SET CONSTRAINTS {}.ledger_journalentry_has_legs IMMEDIATE").format(schema),
    )

    def entry_in_other(key: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(entry_sql, [key])
            return cursor.fetchone()[0]

    with rolled_back():
        balanced, unbalanced = entry_in_other("M1"), entry_in_other("M2")
        with connection.cursor() as cursor:
            cursor.execute(legs_sql, [balanced, clearing, balanced, revenue, -70])
        refused(legs_sql, [unbalanced, clearing, unbalanced, revenue, -69],
                match=f"journal entry {unbalanced} in {other} is unbalanced")
        refused(check_sql, match=f"journal entry {unbalanced} .* in {other} has 0 leg")
    with rolled_back():
        balanced = entry_in_other("M1")
        with connection.cursor() as cursor:
            cursor.execute(legs_sql, [balanced, clearing, balanced, revenue, -70])
            cursor.execute(check_sql)
    assert JournalEntry.objects.count() == 1
