"""Balances and totals over a day of a small mall: two sales, a fee, a partial refund, a
commission and a withdrawal."""

import pytest

from core.errors import InvalidInput
from storefront.ledger.selectors import (
    account_balance,
    balances,
    ledger_total,
    order_account_total,
)
from storefront.ledger.services import Leg, entry_post
from tests.ledger.conftest import sale

pytestmark = pytest.mark.usefixtures("mall")


@pytest.fixture
def a_day(mall):
    entry_post(source="payment", source_key="P1", order_id=1, legs=sale(10000))
    entry_post(source="payment", source_key="P2", order_id=2, legs=sale(5000))
    entry_post(source="wechat_fees", source_key="F1", order_id=1,
               legs=[Leg("wechat_fees", 60), Leg("wechat_clearing", -60)])
    entry_post(source="refund", source_key="R1", order_id=1,
               legs=[Leg("refunds", 3000), Leg("wechat_clearing", -3000)])
    entry_post(source="profit_share", source_key="S1", order_id=1,
               legs=[Leg("commission_expense", 1050),
                     Leg("distributor_payable", -700, party="openid:o1"),
                     Leg("distributor_payable", -350, party="openid:o2")])
    entry_post(source="transfer", source_key="T1",
               legs=[Leg("distributor_payable", 700, party="openid:o1"),
                     Leg("distributor_withdrawable", -700, party="openid:o1")])


def test_nothing_posted_means_zero_everywhere():
    assert account_balance(code="wechat_clearing") == 0
    assert account_balance(code="distributor_payable", party="openid:o1") == 0
    assert balances() == {}
    assert order_account_total(order_id=1, code="sales_revenue") == 0
    assert ledger_total() == 0


@pytest.mark.usefixtures("a_day")
def test_account_balances_are_sums_of_their_legs():
    assert account_balance(code="wechat_clearing") == 10000 + 5000 - 60 - 3000
    assert account_balance(code="sales_revenue") == -15000
    assert account_balance(code="refunds") == 3000
    assert account_balance(code="distributor_payable", party="openid:o1") == 0
    assert account_balance(code="distributor_payable", party="openid:o2") == -350
    assert account_balance(code="distributor_withdrawable", party="openid:o1") == -700
    assert account_balance(code="tax_withheld") == 0


@pytest.mark.usefixtures("a_day")
def test_balances_list_every_account_with_legs():
    assert balances() == {
        ("commission_expense", ""): 1050,
        ("distributor_payable", "openid:o1"): 0,
        ("distributor_payable", "openid:o2"): -350,
        ("distributor_withdrawable", "openid:o1"): -700,
        ("refunds", ""): 3000,
        ("sales_revenue", ""): -15000,
        ("wechat_clearing", ""): 11940,
        ("wechat_fees", ""): 60,
    }
    assert sum(balances().values()) == ledger_total() == 0


@pytest.mark.usefixtures("a_day")
def test_order_totals_sum_an_accounts_legs_over_the_orders_entries():
    assert order_account_total(order_id=1, code="wechat_clearing") == 10000 - 60 - 3000
    assert order_account_total(order_id=2, code="wechat_clearing") == 5000
    assert order_account_total(order_id=1, code="distributor_payable") == -1050
    assert order_account_total(order_id=1, code="refunds") == 3000
    assert order_account_total(order_id=3, code="wechat_clearing") == 0


@pytest.mark.parametrize("call", [
    lambda: account_balance(code="cash"),
    lambda: account_balance(code="distributor_payable"),
    lambda: account_balance(code="wechat_clearing", party="openid:o1"),
    lambda: order_account_total(order_id=1, code="cash"),
])
def test_an_account_that_cannot_exist_is_an_error_not_a_zero(call):
    with pytest.raises(InvalidInput) as caught:
        call()
    assert caught.value.code == "ledger_unknown_account"
