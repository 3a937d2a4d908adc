"""entry_post: validation with stable codes, lazy accounts, one INSERT of legs, replays."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import Conflict, InvalidInput
from storefront.ledger.models import Account, JournalEntry, JournalLeg
from storefront.ledger.services import Leg, entry_post
from tests.ledger.conftest import sale

pytestmark = pytest.mark.usefixtures("mall")


def rows() -> tuple[int, int, int]:
    return JournalEntry.objects.count(), JournalLeg.objects.count(), Account.objects.count()


def legs_of(entry) -> list[tuple[str, str, int]]:
    return list(entry.legs.order_by("id").values_list("account__code", "account__party",
                                                      "amount_fen"))


def test_posts_an_entry_with_its_legs_and_creates_the_accounts_it_needs():
    entry = entry_post(
        source="profit_share", source_key="PS1", order_id=42, memo="tier 1",
        legs=[Leg("commission_expense", 1500),
              Leg("distributor_payable", -1000, party="openid:o1"),
              Leg("distributor_payable", -500, party="openid:o2")],
    )
    entry.refresh_from_db()
    assert (entry.source, entry.source_key, entry.order_id, entry.memo) == (
        "profit_share", "PS1", 42, "tier 1"
    )
    assert legs_of(entry) == [("commission_expense", "", 1500),
                              ("distributor_payable", "openid:o1", -1000),
                              ("distributor_payable", "openid:o2", -500)]
    assert sorted(Account.objects.values_list("code", "party")) == [
        ("commission_expense", ""), ("distributor_payable", "openid:o1"),
        ("distributor_payable", "openid:o2"),
    ]


def test_all_legs_go_in_one_insert_and_known_accounts_are_reused():
    entry_post(source="payment", source_key="P1", legs=sale(100))
    with CaptureQueriesContext(connection) as queries:
        entry_post(source="payment", source_key="P2", legs=sale(200))
    inserts = [q["sql"] for q in queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 2
    assert inserts[0].startswith('INSERT INTO "ledger_journalentry"')
    assert inserts[1].startswith('INSERT INTO "ledger_journalleg"')
    assert Account.objects.count() == 2


def test_replaying_a_key_posts_nothing_and_returns_the_first_entry():
    first = entry_post(source="payment", source_key="P1", legs=sale(100), order_id=1)
    before = rows()
    again = entry_post(source="payment", source_key="P1", legs=list(reversed(sale(100))),
                       order_id=1, memo="memo differs: not money")
    assert again.pk == first.pk
    assert rows() == before


def test_the_same_key_in_another_source_is_another_entry():
    payment = entry_post(source="payment", source_key="K1", legs=sale(100))
    refund = entry_post(source="refund", source_key="K1",
                        legs=[Leg("refunds", 100), Leg("wechat_clearing", -100)])
    assert payment.pk != refund.pk


@pytest.mark.parametrize("changes", [
    {"legs": sale(101)},
    {"legs": [Leg("wechat_clearing", 100), Leg("unapplied_receipts", -100)]},
    {"legs": [*sale(50), *sale(50)]},
    {"order_id": 2},
    {"order_id": None},
])
def test_replaying_a_key_with_other_money_is_a_409_that_changes_nothing(changes):
    entry_post(source="payment", source_key="P1", legs=sale(100), order_id=1)
    before = rows()
    with pytest.raises(Conflict) as caught:
        entry_post(**{"source": "payment", "source_key": "P1", "legs": sale(100),
                      "order_id": 1, **changes})
    assert (caught.value.code, caught.value.status) == ("ledger_source_key_reused", 409)
    assert rows() == before


@pytest.mark.parametrize(("changes", "code"), [
    ({"legs": []}, "ledger_entry_unbalanced"),
    ({"legs": [Leg("wechat_clearing", 100)]}, "ledger_entry_unbalanced"),
    ({"legs": sale(100)[:1] + [Leg("sales_revenue", -99)]}, "ledger_entry_unbalanced"),
    ({"legs": [Leg("wechat_clearing", 0), Leg("sales_revenue", 0)]}, "ledger_entry_invalid"),
    ({"legs": [Leg("wechat_clearing", True), Leg("sales_revenue", -1)]}, "ledger_entry_invalid"),
    ({"legs": [Leg("wechat_clearing", 1.0), Leg("sales_revenue", -1)]}, "ledger_entry_invalid"),
    ({"legs": [Leg("wechat_clearing", 2**63), Leg("sales_revenue", -(2**63))]},
     "ledger_entry_invalid"),
    ({"legs": [Leg("cash", 100), Leg("sales_revenue", -100)]}, "ledger_entry_invalid"),
    ({"legs": [Leg("wechat_clearing", 100), Leg("distributor_payable", -100)]},
     "ledger_entry_invalid"),
    ({"legs": [Leg("wechat_clearing", 100, party="openid:o1"), Leg("sales_revenue", -100)]},
     "ledger_entry_invalid"),
    ({"legs": [Leg("wechat_clearing", 100), Leg("partner_payable", -100, party="m" * 81)]},
     "ledger_entry_invalid"),
    ({"legs": [("wechat_clearing", 100), ("sales_revenue", -100)]}, "ledger_entry_invalid"),
    ({"legs": "wechat_clearing"}, "ledger_entry_invalid"),
    ({"source": ""}, "ledger_entry_invalid"),
    ({"source": "s" * 33}, "ledger_entry_invalid"),
    ({"source_key": ""}, "ledger_entry_invalid"),
    ({"source_key": "k" * 65}, "ledger_entry_invalid"),
    ({"source_key": 12}, "ledger_entry_invalid"),
    ({"order_id": True}, "ledger_entry_invalid"),
    ({"order_id": "7"}, "ledger_entry_invalid"),
    ({"order_id": 0}, "ledger_entry_invalid"),
    ({"memo": "m" * 201}, "ledger_entry_invalid"),
])
def test_invalid_postings_are_refused_before_the_database_with_nothing_written(changes, code):
    with pytest.raises(InvalidInput) as caught:
        entry_post(**{"source": "payment", "source_key": "P1", "legs": sale(100), **changes})
    assert (caught.value.code, caught.value.status) == (code, 400)
    assert rows() == (0, 0, 0)


def test_the_longest_valid_values_are_accepted():
    entry = entry_post(source="s" * 32, source_key="k" * 64, memo="m" * 200, order_id=2**62,
                       legs=[Leg("wechat_clearing", 2**62),
                             Leg("partner_payable", -(2**62), party="m" * 80)])
    assert JournalLeg.objects.filter(entry=entry).count() == 2
