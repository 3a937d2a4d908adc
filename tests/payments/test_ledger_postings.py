"""Every final money move of the payments app posts exactly one ledger entry in the
transaction that records it, keyed so a replayed callback posts nothing more; the ledger
check finds the ledger and the rows in agreement, and says so when they drift."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.actors import Actor
from storefront.ledger.checks import ledger_check
from storefront.ledger.models import JournalEntry
from storefront.ledger.selectors import account_balance, order_account_total
from storefront.orders.after_sales import RefundItem, after_sales_approve, after_sales_request
from storefront.orders.models import Order, OrderStatus
from storefront.orders.services import CheckoutItem, order_cancel, order_place
from storefront.payments import ledger_postings, refunds, services
from storefront.payments.models import (
    Payment,
    ProfitShare,
    ProfitShareLine,
    ProfitShareReturn,
    Refund,
    Transfer,
)
from storefront.payments.transitions import (
    PROFIT_SHARE_MACHINE,
    SHARE_RETURN_MACHINE,
    TRANSFER_MACHINE,
)
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory
from tests.factories.shoppers import AddressFactory

SUB_MCHID = "1900000109"


@pytest.fixture
def order(mall):
    ShippingTemplateFactory(default_fee_fen=0, free_above_fen=0)
    address = AddressFactory()
    return order_place(
        shopper=address.shopper, items=[CheckoutItem(sku_id=SkuFactory(price_fen=3000).pk,
                                                     quantity=3)],
        address_id=address.pk,
    )


def _payment(order) -> Payment:
    return Payment.objects.create(
        order=order, out_trade_no=f"{order.number}01", channel="native", sub_mchid=SUB_MCHID,
        amount_fen=order.total_fen, expires_at=timezone.now() + dt.timedelta(minutes=30),
    )


def _paid(payment: Payment) -> dict:
    return {
        "out_trade_no": payment.out_trade_no, "sub_mchid": SUB_MCHID,
        "trade_state": "SUCCESS", "transaction_id": f"42000{payment.pk:010d}",
        "amount": {"total": payment.amount_fen}, "success_time": timezone.now().isoformat(),
    }


def _entries(source: str) -> list[tuple[str, list[tuple[str, str, int]]]]:
    return [
        (entry.source_key, sorted(
            (leg.account.code, leg.account.party, leg.amount_fen) for leg in entry.legs.all()
        ))
        for entry in JournalEntry.objects.filter(source=source).order_by("pk")
    ]


def test_a_payment_posts_once_however_often_wechat_reports_it(order):
    payment = _payment(order)
    for _ in range(3):  # the callback, a duplicate delivery, the query job
        services.payment_apply_transaction(resource=_paid(payment), source="callback")

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert _entries("payment") == [(payment.out_trade_no, [
        ("sales_revenue", "", -9000), ("wechat_clearing", "", 9000),
    ])]
    assert JournalEntry.objects.get(source="payment").order_id == order.pk
    assert account_balance(code="wechat_clearing") == 9000
    assert ledger_check().ok


def test_money_for_a_cancelled_order_is_owed_back_not_revenue(order):
    payment = _payment(order)
    order_cancel(order=order, actor=Actor.system(), reason="not paid in time")

    _, outcome = services.payment_apply_transaction(resource=_paid(payment), source="callback")

    assert outcome == "flagged"
    assert _entries("payment") == [(payment.out_trade_no, [
        ("unapplied_receipts", "", -9000), ("wechat_clearing", "", 9000),
    ])]
    assert ledger_check().ok


def _refund(order, quantity: int) -> Refund:
    case = after_sales_request(
        order=order, shopper_id=order.shopper_id,
        items=[RefundItem(order.lines.get().pk, quantity)], reason="quality",
    )
    after_sales_approve(request_id=case.pk, staff_user_id=1)
    case.refresh_from_db()
    return Refund.objects.create(
        after_sales=case, payment=order.payments.get(), out_refund_no=f"RF{case.pk:06d}",
        amount_fen=case.refund_fen,
    )


def _refunded(refund: Refund) -> dict:
    return {"out_refund_no": refund.out_refund_no, "sub_mchid": SUB_MCHID,
            "out_trade_no": refund.payment.out_trade_no,
            "refund_status": "SUCCESS", "refund_id": f"5030{refund.pk:08d}",
            "amount": {"refund": refund.amount_fen, "total": refund.payment.amount_fen}}


def test_partial_refunds_post_once_each_and_the_order_agrees_with_the_ledger(order):
    payment = _payment(order)
    services.payment_apply_transaction(resource=_paid(payment), source="callback")
    first = _refund(order, 1)
    for _ in range(2):
        refunds.refund_apply(resource=_refunded(first), source="callback")
    second = _refund(order, 1)
    refunds.refund_apply(resource=_refunded(second), source="query")

    order.refresh_from_db()
    assert order.refunded_fen == 6000
    assert order_account_total(order_id=order.pk, code="wechat_clearing") == 9000 - 6000
    assert order_account_total(order_id=order.pk, code="refunds") == order.refunded_fen
    assert [key for key, _ in _entries("refund")] == [first.out_refund_no, second.out_refund_no]
    assert account_balance(code="wechat_clearing") == 3000
    assert ledger_check().ok


def test_the_check_sees_an_order_whose_refunds_drift_from_the_ledger(order):
    payment = _payment(order)
    services.payment_apply_transaction(resource=_paid(payment), source="callback")
    refunds.refund_apply(resource=_refunded(_refund(order, 1)), source="callback")
    Order.objects.filter(pk=order.pk).update(refunded_fen=1)  # a bug writing the order

    report = ledger_check()

    assert not report.ok
    assert any("refunded_fen 1, ledger refunds 3000" in problem for problem in report.problems)


def test_the_check_sees_a_final_money_row_without_its_entry(order):
    payment = _payment(order)
    services.payment_apply_transaction(resource=_paid(payment), source="callback")
    Payment.objects.filter(pk=payment.pk).update(amount_fen=8000)  # the row says otherwise

    report = ledger_check()

    assert not report.ok
    assert any(payment.out_trade_no in problem for problem in report.problems)


def test_payouts_post_what_wechat_paid(order):
    payment = _payment(order)
    services.payment_apply_transaction(resource=_paid(payment), source="callback")
    share = ProfitShare.objects.create(payment=payment, out_order_no="PS1", kind="share",
                                       sub_mchid=SUB_MCHID, amount_fen=700)
    ProfitShareLine.objects.bulk_create([
        ProfitShareLine(share=share, receiver_type="PERSONAL_OPENID", account="o-alice",
                        amount_fen=400, description="佣金", result="SUCCESS"),
        ProfitShareLine(share=share, receiver_type="MERCHANT_ID", account="1900009999",
                        amount_fen=200, description="货款", result="SUCCESS"),
        ProfitShareLine(share=share, receiver_type="PERSONAL_OPENID", account="o-bob",
                        amount_fen=100, description="佣金", result="CLOSED"),
    ])
    PROFIT_SHARE_MACHINE.transition(pk=share.pk, to_status="finished", actor=Actor.wechat())
    share_return = ProfitShareReturn.objects.create(
        share=share, out_return_no="RT1", return_mchid="1900009999", amount_fen=50,
        description="退款回退",
    )
    SHARE_RETURN_MACHINE.transition(pk=share_return.pk, to_status="success",
                                    actor=Actor.wechat())
    transfer = Transfer.objects.create(out_bill_no="TB1", sub_mchid=SUB_MCHID, appid="wx",
                                       openid="o-alice", amount_fen=300, remark="佣金提现")
    TRANSFER_MACHINE.transition(pk=transfer.pk, to_status="SUCCESS", actor=Actor.wechat())
    failed = Transfer.objects.create(out_bill_no="TB2", sub_mchid=SUB_MCHID, appid="wx",
                                     openid="o-bob", amount_fen=300, remark="佣金提现")
    TRANSFER_MACHINE.transition(pk=failed.pk, to_status="FAIL", actor=Actor.wechat())

    assert _entries("profit_share") == [("PS1", [
        ("distributor_payable", "openid:o-alice", 400),
        ("partner_payable", "mchid:1900009999", 200),
        ("wechat_clearing", "", -600),  # bob's share was closed: it never left
    ])]
    assert _entries("share_return") == [("RT1", [
        ("partner_payable", "mchid:1900009999", -50), ("wechat_clearing", "", 50),
    ])]
    assert _entries("transfer") == [("TB1", [
        ("distributor_payable", "openid:o-alice", 300), ("wechat_clearing", "", -300),
    ])]
    assert account_balance(code="wechat_clearing") == 9000 - 600 + 50 - 300
    assert ledger_check().ok


def test_a_posting_that_fails_takes_its_money_move_back_with_it(order, monkeypatch):
    """The entry is written in the state change's transaction: if it cannot be written,
    the payment is not marked paid either."""
    payment = _payment(order)

    def broken(**kwargs):
        raise DatabaseError("the ledger is unreachable")

    monkeypatch.setattr(ledger_postings, "entry_post", broken)
    with pytest.raises(DatabaseError), transaction.atomic():
        services.payment_apply_transaction(resource=_paid(payment), source="callback")

    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, order.status) == ("pending", OrderStatus.PENDING_PAYMENT)
    assert not payment.events.filter(to_status="succeeded").exists()
    assert connection.in_atomic_block  # the test's own transaction is still usable
