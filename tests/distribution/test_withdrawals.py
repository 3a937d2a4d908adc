"""Withdrawals of the withdrawable balance: bad amounts, limits, review, the money going
back, and 20 concurrent requests on one balance (DESIGN §6)."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from storefront.distribution import settlement, withdrawals
from storefront.distribution.commissions import SHANGHAI
from storefront.distribution.errors import WithdrawalInvalid, WithdrawalNotAllowed
from storefront.distribution.models import (
    DistributionSettings,
    Distributor,
    Withdrawal,
    WithdrawalEvent,
)
from storefront.distribution.withdrawals import withdrawable_fen, withdrawal_request
from storefront.ledger.checks import ledger_check
from storefront.ledger.models import AccountCode
from storefront.ledger.selectors import account_balance
from storefront.orders.services import order_confirm_receipt, order_ship
from tests.distribution.conftest import make_chain, make_plan, make_shopper, pay, place
from tests.factories.catalog import SkuFactory
from tests.race import race

OCT = dt.date(2026, 10, 1)


def fund(distributor: Distributor, fen: int) -> None:
    """Earn `fen` in October through a real order and settle it into the balance."""
    earning = SkuFactory(price_fen=fen, stock=1, commission_mode="fixed",
                         commission_fixed_fen=fen)
    buyer = make_shopper()
    with time_machine.travel(dt.datetime(2026, 10, 5, 10, tzinfo=SHANGHAI), tick=False):
        order = pay(place(buyer, (earning, 1), referrer=distributor))
        order_ship(order=order, staff_user_id=1, carrier="SF", tracking_number="SF1")
        order_confirm_receipt(order=order, shopper=buyer)
    settlement.commissions_release(now=dt.datetime(2026, 10, 6, tzinfo=SHANGHAI))
    settlement.statements_generate(OCT, now=dt.datetime(2026, 11, 1, 2, tzinfo=SHANGHAI))


def seasoned(distributor: Distributor) -> Distributor:
    """A distributor active for a month: no new-account review."""
    Distributor.objects.filter(pk=distributor.pk).update(
        activated_at=timezone.now() - dt.timedelta(days=30))
    distributor.refresh_from_db()
    return distributor


def setup_rules():
    rules = DistributionSettings.current()
    rules.commission_hold_days = 0
    rules.commission_cap_bp = 10_000
    rules.statement_review_from_fen = 10**9
    rules.save()
    make_plan(tiers=1, rates_bp=[100])
    return rules


@pytest.fixture
def funded(mall):
    setup_rules()
    (distributor,) = make_chain(1)
    fund(distributor, 5000)
    return seasoned(distributor)


@pytest.mark.django_db
@pytest.mark.parametrize(("amount", "words"), [
    (-100, "more than zero"), (0, "more than zero"), (12.5, "whole number"),
    ("100", "whole number"), (True, "whole number"), (5001, "at most 5000 fen"),
    (50, "least you can withdraw is 100"),
])
def test_bad_amounts_are_refused_with_a_clear_message(funded, amount, words):
    with pytest.raises(WithdrawalInvalid, match=words):
        withdrawal_request(distributor_id=funded.pk, amount_fen=amount)
    assert not Withdrawal.objects.exists() and withdrawable_fen(funded.pk) == 5000


@pytest.mark.django_db
def test_a_withdrawal_reserves_its_amount_and_fee_in_the_ledger(funded):
    rules = DistributionSettings.current()
    rules.withdrawal_fee_bp, rules.withdrawal_fee_min_fen = 100, 20
    rules.save()
    withdrawal = withdrawal_request(distributor_id=funded.pk, amount_fen=3000)
    assert (withdrawal.fee_fen, withdrawal.net_fen, withdrawal.status) == (
        30, 2970, "transferring")
    assert withdrawable_fen(funded.pk) == 2000
    assert account_balance(code=AccountCode.WITHDRAWAL_FEES) == -30
    assert account_balance(code=AccountCode.DISTRIBUTOR_PAYABLE,
                           party=f"openid:{withdrawal.openid}") == -2970
    assert ledger_check().ok


@pytest.mark.django_db
def test_daily_limits_and_the_real_name_rule(funded):
    rules = DistributionSettings.current()
    rules.withdrawal_daily_count = 2
    rules.save()
    withdrawal_request(distributor_id=funded.pk, amount_fen=100)
    withdrawal_request(distributor_id=funded.pk, amount_fen=100)
    with pytest.raises(WithdrawalNotAllowed, match="At most 2 withdrawals a day"):
        withdrawal_request(distributor_id=funded.pk, amount_fen=100)

    (rich,) = make_chain(1)
    fund(rich, 300_000)
    seasoned(rich)
    with pytest.raises(WithdrawalInvalid, match="real name"):
        withdrawal_request(distributor_id=rich.pk, amount_fen=250_000)
    big = withdrawal_request(distributor_id=rich.pk, amount_fen=250_000, real_name="张三")
    assert big.real_name_given and "张三" not in big.real_name_encrypted


@pytest.mark.django_db
def test_a_risky_request_waits_for_review_and_a_rejection_gives_the_money_back(mall):
    setup_rules()
    (newcomer,) = make_chain(1)
    fund(newcomer, 5000)
    withdrawal = withdrawal_request(distributor_id=newcomer.pk, amount_fen=4000)
    assert withdrawal.status == "reviewing"
    assert withdrawal.risk_reasons == ["distributor active for less than 7 days"]
    assert withdrawable_fen(newcomer.pk) == 1000

    with pytest.raises(WithdrawalInvalid):
        withdrawals.withdrawal_reject(withdrawal_id=withdrawal.pk, staff_id=3, reason=" ")
    withdrawals.withdrawal_reject(withdrawal_id=withdrawal.pk, staff_id=3,
                                  reason="please wait a week")
    assert withdrawable_fen(newcomer.pk) == 5000
    assert list(WithdrawalEvent.objects.filter(withdrawal=withdrawal)
                .values_list("to_status", "actor_kind")) == [
        ("reviewing", "shopper"), ("rejected", "staff")]
    assert ledger_check().ok


@pytest.mark.django_db
def test_a_failed_transfer_returns_the_money_to_the_balance(funded):
    withdrawal = withdrawal_request(distributor_id=funded.pk, amount_fen=5000)
    withdrawals.withdrawal_finish(withdrawal.out_bill_no, succeeded=False,
                                  reason="WeChat could not pay")
    withdrawal.refresh_from_db()
    assert withdrawal.status == "failed" and withdrawable_fen(funded.pk) == 5000
    # Finishing again (a second callback) changes nothing.
    withdrawals.withdrawal_finish(withdrawal.out_bill_no, succeeded=False, reason="again")
    assert withdrawable_fen(funded.pk) == 5000
    assert ledger_check().ok


@pytest.mark.django_db
def test_a_frozen_distributor_cannot_withdraw(funded):
    from storefront.distribution.services import distributor_freeze

    distributor_freeze(distributor_id=funded.pk, staff_id=1, reason="investigation")
    with pytest.raises(WithdrawalNotAllowed):
        withdrawal_request(distributor_id=funded.pk, amount_fen=100)


@pytest.mark.django_db(transaction=True)
def test_20_concurrent_withdrawals_of_one_balance_exactly_one_succeeds(committed_cleanup,
                                                                        mall):
    setup_rules()
    (distributor,) = make_chain(1)
    fund(distributor, 5000)
    seasoned(distributor)
    connection.set_schema_to_public()

    result = race([partial(withdrawal_request, distributor_id=distributor.pk,
                           amount_fen=5000) for _ in range(20)], tenant=mall)

    assert result.labels() == {"ok": 1, "withdrawal_invalid": 19}
    connection.set_tenant(mall)
    assert Withdrawal.objects.count() == 1
    assert withdrawable_fen(distributor.pk) == 0
    assert ledger_check().ok


