"""ledger_check: the ledger holds what the money apps expect, and nothing else."""

import pytest
from django.db import connection

from storefront.ledger import checks
from storefront.ledger.checks import (
    ExpectedEntry,
    ledger_check,
    register_check,
    register_expectations,
)
from storefront.ledger.models import JournalEntry
from storefront.ledger.services import Leg, entry_post
from tests.ledger.conftest import sale, unbalanced_entry

pytestmark = pytest.mark.usefixtures("mall")


def expect(*entries: ExpectedEntry, source: str = "payment") -> None:
    register_expectations(source, lambda: iter(entries))


def test_a_ledger_that_holds_exactly_what_is_expected_is_ok():
    entry_post(source="payment", source_key="P1", order_id=1, legs=sale(100))
    entry_post(source="payment", source_key="P2", order_id=2, legs=sale(250))
    entry_post(source="refund", source_key="R1", order_id=1,
               legs=[Leg("refunds", 100), Leg("wechat_clearing", -100)])
    expect(ExpectedEntry("P2", list(reversed(sale(250))), order_id=2),
           ExpectedEntry("P1", sale(100), order_id=1))
    expect(ExpectedEntry("R1", [Leg("wechat_clearing", -100), Leg("refunds", 100)], 1),
           source="refund")
    register_check("clearing is not negative", lambda: [])
    report = ledger_check()
    assert report == checks.LedgerReport(
        ok=True, problems=[], figures={"entries": 3, "legs": 6, "total": 0}
    )


def test_an_empty_ledger_is_ok():
    expect()
    assert ledger_check() == checks.LedgerReport(
        ok=True, problems=[], figures={"entries": 0, "legs": 0, "total": 0}
    )


def test_a_missing_expected_entry_is_reported():
    entry_post(source="payment", source_key="P1", order_id=1, legs=sale(100))
    expect(ExpectedEntry("P1", sale(100), 1), ExpectedEntry("P2", sale(300), 2))
    report = ledger_check()
    assert not report.ok
    assert report.problems == ["payment:P2 is missing (expected on order 2)"]


def test_an_entry_no_row_expects_is_reported():
    entry_post(source="payment", source_key="P1", order_id=1, legs=sale(100))
    entry_post(source="payment", source_key="P9", order_id=9, legs=sale(900))
    expect(ExpectedEntry("P1", sale(100), 1))
    assert ledger_check().problems == ["payment:P9 was posted but no payment row expects it"]


def test_an_entry_with_other_legs_or_on_another_order_is_reported():
    entry_post(source="payment", source_key="P1", order_id=1, legs=sale(100))
    entry_post(source="payment", source_key="P2", order_id=2,
               legs=[Leg("wechat_clearing", 100), Leg("unapplied_receipts", -100)])
    expect(ExpectedEntry("P1", sale(120), 1), ExpectedEntry("P2", sale(100), 3))
    assert ledger_check().problems == [
        "payment:P1 has legs sales_revenue -100, wechat_clearing +100; "
        "expected sales_revenue -120, wechat_clearing +120",
        "payment:P2 has legs unapplied_receipts -100, wechat_clearing +100; "
        "expected sales_revenue -100, wechat_clearing +100",
        "payment:P2 is on order 2; expected 3",
    ]


def test_legs_are_compared_as_multisets_with_their_parties():
    entry_post(source="profit_share", source_key="S1", order_id=1,
               legs=[Leg("commission_expense", 200),
                     Leg("distributor_payable", -100, party="openid:o1"),
                     Leg("distributor_payable", -100, party="openid:o1")])
    expect(ExpectedEntry("S1", [Leg("commission_expense", 200),
                                Leg("distributor_payable", -100, party="openid:o1"),
                                Leg("distributor_payable", -100, party="openid:o2")], 1),
           source="profit_share")
    assert ledger_check().problems == [
        "profit_share:S1 has legs commission_expense +200, "
        "distributor_payable[openid:o1] -100, distributor_payable[openid:o1] -100; "
        "expected commission_expense +200, distributor_payable[openid:o1] -100, "
        "distributor_payable[openid:o2] -100"
    ]


def test_entries_of_a_source_nobody_registered_are_reported():
    entry_post(source="payment", source_key="P1", order_id=1, legs=sale(100))
    entry_post(source="mystery", source_key="M1", legs=sale(5))
    entry_post(source="mystery", source_key="M2", legs=sale(6))
    entry_post(source="gift", source_key="G1", legs=sale(7))
    expect(ExpectedEntry("P1", sale(100), 1))
    assert ledger_check().problems == [
        "1 entry of source 'gift', which no app registered",
        "2 entries of source 'mystery', which no app registered",
    ]


def test_a_provider_repeating_a_key_is_reported():
    entry_post(source="payment", source_key="P1", order_id=1, legs=sale(100))
    expect(ExpectedEntry("P1", sale(100), 1), ExpectedEntry("P1", sale(100), 1))
    assert ledger_check().problems == ["payment:P1 is expected twice (the provider repeats a key)"]


def test_extra_checks_add_their_problems_under_their_name():
    register_check("withdrawable never negative", lambda: ["openid:o1 is at -5 fen"])
    register_check("fees below 1%", lambda: [])
    assert ledger_check().problems == ["withdrawable never negative: openid:o1 is at -5 fen"]


def test_a_failing_provider_or_check_is_a_problem_and_the_check_goes_on():
    def broken_sql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")
        return []

    def broken_provider():
        raise RuntimeError("boom")

    entry_post(source="refund", source_key="R1", legs=[Leg("refunds", 1),
                                                       Leg("wechat_clearing", -1)])
    register_expectations("payment", broken_provider)
    register_check("sql", broken_sql)
    expect(source="refund")
    report = ledger_check()
    assert report.problems[0] == "the expectations of payment failed: RuntimeError: boom"
    assert report.problems[1] == "refund:R1 was posted but no refund row expects it"
    assert report.problems[2].startswith("sql: the check failed: ProgrammingError: relation "
                                         '"no_such_table" does not exist')
    assert len(report.problems) == 3
    assert JournalEntry.objects.count() == 1  # the transaction is still usable


def test_unbalanced_entries_and_a_nonzero_total_are_reported():
    with unbalanced_entry(100, -90) as entry_id:
        report = ledger_check()
    assert report.problems == [
        "the legs sum to 10 fen instead of 0",
        f"entry {entry_id} (payment:X1) has 2 leg(s) summing to 10 fen",
        "1 entry of source 'payment', which no app registered",
    ]
    assert report.figures == {"entries": 1, "legs": 2, "total": 10}


def test_each_kind_of_problem_is_capped():
    expect(*(ExpectedEntry(f"P{n:02d}", sale(100), n) for n in range(1, 26)))
    problems = ledger_check().problems
    assert problems[:2] == ["payment:P01 is missing (expected on order 1)",
                            "payment:P02 is missing (expected on order 2)"]
    assert problems[19] == "payment:P20 is missing (expected on order 20)"
    assert problems[20:] == ["… and 5 more like these"]


def test_a_source_or_check_has_one_registrant():
    def provider():
        return []

    register_expectations("payment", provider)
    register_expectations("payment", provider)  # the same again: harmless (a second ready())
    with pytest.raises(ValueError, match="Ledger source 'payment' is already registered"):
        register_expectations("payment", lambda: [])
    register_check("c", provider)
    with pytest.raises(ValueError, match="Ledger check 'c' is already registered"):
        register_check("c", lambda: [])
