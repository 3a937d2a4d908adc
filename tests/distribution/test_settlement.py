"""Commission states, monthly statements (Asia/Shanghai), income tax, reversals after
payout, and a settlement run killed half-way (DESIGN §5, §6)."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
import time_machine

from core.actors import Actor
from storefront.distribution import settlement
from storefront.distribution.commissions import SHANGHAI
from storefront.distribution.errors import DistributionInvalid
from storefront.distribution.models import (
    Commission,
    Statement,
    StatementEvent,
)
from storefront.distribution.withdrawals import withdrawable_fen, withdrawal_request
from storefront.ledger.checks import ledger_check
from storefront.ledger.models import AccountCode
from storefront.ledger.selectors import account_balance
from storefront.orders.after_sales import (
    RefundItem,
    after_sales_approve,
    after_sales_mark_refunded,
    after_sales_request,
)
from storefront.orders.services import order_confirm_receipt, order_ship
from tests.distribution.conftest import make_chain, make_plan, make_shopper, pay, place
from tests.factories.catalog import SkuFactory

pytestmark = pytest.mark.django_db

OCT = dt.date(2026, 10, 1)
NOV = dt.date(2026, 11, 1)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def sold(when, buyer, items, referrer):
    """An order paid at `when` and received a minute later."""
    with time_machine.travel(when, tick=False):
        order = pay(place(buyer, *items, referrer=referrer))
    with time_machine.travel(when + dt.timedelta(minutes=1), tick=False):
        order_ship(order=order, staff_user_id=1, carrier="SF", tracking_number="SF1")
        order_confirm_receipt(order=order, shopper=buyer)
    return order


@pytest.fixture
def no_hold(rules):
    rules.commission_hold_days = 0
    rules.statement_review_from_fen = 10**9
    rules.save()
    return rules


def test_commissions_move_pending_frozen_available_settled(no_hold, plan, sku):
    (distributor,) = make_chain(1)
    order = sold(at(2026, 10, 10, 12), make_shopper(), [(sku, 1)], distributor)
    commission = Commission.objects.get(order_id=order.pk)
    assert commission.status == "frozen"
    assert settlement.commissions_release(now=at(2026, 10, 12)) == 1
    settlement.statements_generate(OCT, now=at(2026, 11, 2))
    commission.refresh_from_db()
    assert commission.status == "settled"
    moves = list(commission.events.values_list("from_status", "to_status"))
    assert moves == [("", "pending"), ("pending", "frozen"), ("frozen", "available"),
                     ("available", "settled")]
    assert withdrawable_fen(distributor.pk) == 990


def test_an_open_after_sales_case_keeps_the_commission_frozen(no_hold, plan, sku):
    (distributor,) = make_chain(1)
    buyer = make_shopper()
    order = sold(at(2026, 10, 10, 12), buyer, [(sku, 1)], distributor)
    after_sales_request(order=order, shopper_id=buyer.pk, reason="damaged",
                        items=[RefundItem(order_line_id=order.lines.get().pk, quantity=1)])
    assert settlement.commissions_release(now=at(2026, 10, 20)) == 0


def test_statements_follow_the_shanghai_month(no_hold, plan, sku):
    (distributor,) = make_chain(1)
    october = sold(at(2026, 10, 31, 23, 59), make_shopper(), [(sku, 1)], distributor)
    november = sold(at(2026, 11, 1, 0, 1), make_shopper(), [(sku, 2)], distributor)
    settlement.commissions_release(now=at(2026, 11, 2))

    with pytest.raises(DistributionInvalid, match="not ended"):
        settlement.statements_generate(NOV, now=at(2026, 11, 30, 23))
    run = settlement.statements_generate(OCT, now=at(2026, 11, 3))
    assert (run.statements, run.entries) == (1, 1)
    oct_statement = Statement.objects.get(month=OCT)
    assert oct_statement.gross_fen == 990 and oct_statement.status == "approved"
    assert set(oct_statement.commissions.values_list("order_id", flat=True)) == {october.pk}

    settlement.statements_generate(NOV, now=at(2026, 12, 2))
    nov_statement = Statement.objects.get(month=NOV)
    assert nov_statement.gross_fen == 1980
    assert set(nov_statement.commissions.values_list("order_id", flat=True)) == {november.pk}
    assert withdrawable_fen(distributor.pk) == 2970
    assert ledger_check().ok


@pytest.mark.parametrize(("monthly_yuan", "tax_yuan"), [(3_000, 440), (10_000, 1_600),
                                                         (30_000, 5_200)])
def test_income_tax_withholding(no_hold, monthly_yuan, tax_yuan):
    no_hold.withhold_income_tax = True
    no_hold.commission_cap_bp = 10_000
    no_hold.save()
    make_plan(tiers=1, rates_bp=[100])
    (distributor,) = make_chain(1)
    fen = monthly_yuan * 100
    earning = SkuFactory(price_fen=fen, stock=1, commission_mode="fixed",
                         commission_fixed_fen=fen)
    sold(at(2026, 10, 5, 10), make_shopper(), [(earning, 1)], distributor)
    settlement.commissions_release(now=at(2026, 10, 6))
    settlement.statements_generate(OCT, now=at(2026, 11, 1, 2))

    statement = Statement.objects.get(distributor=distributor)
    assert (statement.gross_fen, statement.tax_fen) == (fen, tax_yuan * 100)
    assert statement.net_fen == fen - tax_yuan * 100
    assert settlement.income_tax_fen(fen) == tax_yuan * 100  # the Python twin agrees
    assert withdrawable_fen(distributor.pk) == statement.net_fen
    assert account_balance(code=AccountCode.TAX_WITHHELD) == -tax_yuan * 100


def test_a_large_statement_waits_for_finance(no_hold, plan, sku):
    no_hold.statement_review_from_fen = 500
    no_hold.save()
    (distributor,) = make_chain(1)
    sold(at(2026, 10, 5, 10), make_shopper(), [(sku, 1)], distributor)
    settlement.commissions_release(now=at(2026, 10, 6))
    settlement.statements_generate(OCT, now=at(2026, 11, 1, 2))
    statement = Statement.objects.get(distributor=distributor)
    assert statement.status == "in_review" and statement.review_reasons == [
        "amount ≥ 500 fen"]
    assert withdrawable_fen(distributor.pk) == 0

    settlement.statement_hold(statement_id=statement.pk, staff_id=2, reason="check orders")
    settlement.statement_approve(statement_id=statement.pk, staff_id=2)
    assert withdrawable_fen(distributor.pk) == 990
    assert list(StatementEvent.objects.filter(statement=statement)
                .values_list("to_status", flat=True)) == ["in_review", "held", "approved"]


def test_partial_refund_after_payout_reverses_a_third_and_nets_next_month(no_hold, plan, sku):
    top, bottom = make_chain(2)
    buyer = make_shopper()
    order = sold(at(2026, 10, 5, 10), buyer, [(sku, 3)], bottom)  # 29,700 paid
    settlement.commissions_release(now=at(2026, 10, 6))
    settlement.statements_generate(OCT, now=at(2026, 11, 1, 2))
    assert withdrawable_fen(bottom.pk) == 2970
    withdrawal_request(distributor_id=bottom.pk, amount_fen=2970)  # paid out
    assert withdrawable_fen(bottom.pk) == 0

    with time_machine.travel(at(2026, 11, 3), tick=False):
        case = after_sales_request(
            order=order, shopper_id=buyer.pk, reason="damaged",
            items=[RefundItem(order_line_id=order.lines.get().pk, quantity=1)])
        after_sales_approve(request_id=case.pk, staff_user_id=1, note="ok")
        after_sales_mark_refunded(request_id=case.pk, actor=Actor.wechat(), reference="R1")

    tier1 = Commission.objects.get(order_id=order.pk, tier=1)
    assert (tier1.status, tier1.reversed_fen) == ("settled", 990)  # a third of 2,970
    assert Commission.objects.get(order_id=order.pk, tier=2).reversed_fen == 495
    # The balance owed went negative in the payable, and nets against November's earnings.
    assert account_balance(code=AccountCode.DISTRIBUTOR_PAYABLE,
                           party=f"dist:{bottom.pk}") == 990
    sold(at(2026, 11, 10, 10), make_shopper(), [(sku, 2)], bottom)  # earns 1,980
    settlement.commissions_release(now=at(2026, 11, 11))
    settlement.statements_generate(NOV, now=at(2026, 12, 1, 2))
    november = Statement.objects.get(distributor=bottom, month=NOV)
    assert november.gross_fen == 1980 - 990
    # Half of the month's earnings came back: finance looks before it is withdrawable.
    assert november.status == "in_review"
    assert november.review_reasons == ["refunds reversed over 30% of the earnings"]
    settlement.statement_approve(statement_id=november.pk, staff_id=2)
    assert withdrawable_fen(bottom.pk) == 990
    # The refund was recorded without WeChat (the order was paid by order_mark_paid), so
    # the payments app's own refund check has nothing to match; every other rule holds.
    problems = ledger_check().problems
    assert [p for p in problems if not p.startswith("orders' refunded amounts")] == []


def test_a_run_killed_half_way_then_run_again_settles_nobody_twice(no_hold, plan, sku):
    distributors = make_chain(1) + make_chain(1) + make_chain(1)
    for distributor in distributors:
        sold(at(2026, 10, 5, 10), make_shopper(), [(sku, 1)], distributor)
    settlement.commissions_release(now=at(2026, 10, 6))

    real_post = settlement._post_approved
    calls = []

    def dies_in_the_second_batch(cursor, params):
        """The worker dies after the batch's statements were written, before its ledger
        entries: the whole batch must roll back."""
        calls.append(params["low"])
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real_post(cursor, params)

    ids = sorted(d.pk for d in distributors)
    batch = ids[1] - ids[0]  # one distributor per batch
    with mock.patch.object(settlement, "_post_approved", dies_in_the_second_batch), \
            pytest.raises(RuntimeError, match="killed"):
        settlement.statements_generate(OCT, now=at(2026, 11, 1, 2), batch=batch)
    assert Statement.objects.count() == 1  # the first batch committed, the second did not

    rerun = settlement.statements_generate(OCT, now=at(2026, 11, 1, 3), batch=batch)
    again = settlement.statements_generate(OCT, now=at(2026, 11, 1, 4), batch=batch)
    assert (rerun.statements, again.statements, again.entries) == (2, 0, 0)
    assert Statement.objects.count() == 3
    assert not Commission.objects.filter(statement__isnull=True).exists()
    for distributor in distributors:
        assert withdrawable_fen(distributor.pk) == 990
    assert ledger_check().ok


def test_a_mall_settling_as_commissions_become_available(no_hold, plan, sku):
    """Each release settles at once into a further statement of the month, withholding
    the month's tax so far less what the month's earlier statements withheld."""
    no_hold.settlement = "on_available"
    no_hold.withhold_income_tax = True
    no_hold.commission_cap_bp = 10_000
    no_hold.save()
    make_plan(tiers=1, rates_bp=[100])
    (distributor,) = make_chain(1)
    for day, yuan in ((3, 3_000), (12, 7_000)):
        earning = SkuFactory(price_fen=yuan * 100, stock=1, commission_mode="fixed",
                             commission_fixed_fen=yuan * 100)
        sold(at(2026, 11, day, 10), make_shopper(), [(earning, 1)], distributor)
        assert settlement.commissions_settle_due(now=at(2026, 11, day, 11)) == {
            "released": 1, "statements": 1}
    first, second = Statement.objects.filter(distributor=distributor).order_by("sequence")
    assert (first.month, first.sequence, first.gross_fen, first.tax_fen) == (
        NOV, 1, 300_000, 44_000)
    # ¥10,000 in the month owes ¥1,600 in all: ¥440 withheld before, ¥1,160 now.
    assert (second.sequence, second.gross_fen, second.tax_fen) == (2, 700_000, 116_000)
    assert withdrawable_fen(distributor.pk) == 1_000_000 - 160_000
    # The month-end run finds nothing left to settle.
    assert settlement.statements_generate(NOV, now=at(2026, 12, 1, 2)).statements == 0
    assert ledger_check().ok


def test_a_mall_settling_as_commissions_become_available_nets_a_refund_after_payout(
        no_hold, plan, sku):
    """The refund's reversal is settled by the next run, not left until another commission
    happens to be released: the withdrawn balance goes negative at once."""
    no_hold.settlement = "on_available"
    no_hold.save()
    (distributor,) = make_chain(1)
    buyer = make_shopper()
    order = sold(at(2026, 11, 3, 10), buyer, [(sku, 1)], distributor)
    assert settlement.commissions_settle_due(now=at(2026, 11, 3, 11)) == {
        "released": 1, "statements": 1}
    withdrawal_request(distributor_id=distributor.pk, amount_fen=990)  # paid out
    assert withdrawable_fen(distributor.pk) == 0

    with time_machine.travel(at(2026, 11, 4), tick=False):
        case = after_sales_request(
            order=order, shopper_id=buyer.pk, reason="damaged",
            items=[RefundItem(order_line_id=order.lines.get().pk, quantity=1)])
        after_sales_approve(request_id=case.pk, staff_user_id=1, note="ok")
        after_sales_mark_refunded(request_id=case.pk, actor=Actor.wechat(), reference="R1")
    assert Commission.objects.get(order_id=order.pk).status == "reversed"

    # Nothing is released, yet the next run settles the reversal: the balance is negative,
    # to be netted against later earnings.
    assert settlement.commissions_settle_due(now=at(2026, 11, 4, 0, 1)) == {
        "released": 0, "statements": 1}
    reversal = Statement.objects.get(distributor=distributor, sequence=2)
    assert (reversal.gross_fen, reversal.status) == (-990, "approved")
    assert withdrawable_fen(distributor.pk) == -990
    assert account_balance(code=AccountCode.DISTRIBUTOR_PAYABLE,
                           party=f"dist:{distributor.pk}") == 0
    assert settlement.commissions_settle_due(now=at(2026, 11, 4, 0, 2)) == {
        "released": 0, "statements": 0}
    problems = ledger_check().problems
    assert [p for p in problems if not p.startswith("orders' refunded amounts")] == []


def test_a_mall_cloned_from_the_template_keeps_the_commissions_fillfactor(mall):
    """Settlement's status changes are HOT updates only with room in the pages: the
    template's fillfactor must survive the clone every mall is made by."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = "
                       "'distribution_commission' AND relnamespace = %s::regnamespace",
                       [connection.schema_name])
        assert cursor.fetchone()[0] == ["fillfactor=70"]
