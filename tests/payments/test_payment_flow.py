"""Order → pay → signed, encrypted callback → paid, against the simulator, for real:
callbacks travel over HTTP from the simulator to a live server of the platform."""

from functools import partial

import pytest
import requests
from celery.contrib.testing.worker import start_worker

from control_plane.celery import app as celery_app
from storefront.ledger.checks import ledger_check
from storefront.ledger.models import JournalEntry
from storefront.ledger.selectors import account_balance
from storefront.orders.after_sales import RefundItem, after_sales_approve, after_sales_request
from storefront.orders.models import AfterSalesStatus, Order, OrderStatus
from storefront.orders.services import CheckoutItem, order_place
from storefront.payments import services
from storefront.payments.models import (
    Payment,
    PaymentChannel,
    PaymentStatus,
    ReconciledBill,
    ReconciliationMismatch,
    Refund,
    WeChatNotification,
)
from storefront.payments.reconciliation import reconciliation_run
from storefront.payments.refunds import refund_start
from storefront.payments.tasks import query_late_payments
from tests.payments.conftest import sim_callbacks, sim_pay, wait_for
from tests.race import race

pytestmark = pytest.mark.usefixtures("committed_cleanup")
LIVE_MALL_SLUG = "pay-mall"


def _order(sku, shopper, address, quantity=2):
    return order_place(
        shopper=shopper, items=[CheckoutItem(sku_id=sku.pk, quantity=quantity)],
        address_id=address.pk,
    )


def test_order_pays_through_a_real_signed_callback(live_mall, sim):
    merchant, sku, shopper, address = live_mall
    order = _order(sku, shopper, address)
    celery_app.control.purge()

    start = services.payment_start(order=order, shopper=shopper, channel=PaymentChannel.JSAPI)

    assert start.payment.out_trade_no == f"{order.number}01"
    assert start.jsapi_params["package"] == f"prepay_id={start.payment.prepay_id}"
    assert start.jsapi_params["signType"] == "RSA"
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        sim_pay(sim, start.payment)
        assert wait_for(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID)
        # the shopper is told, by a template message to their openid (a Celery task)
        sent = wait_for(lambda: [
            m for m in requests.get(f"{sim.base_url}/_sim/messages", timeout=5).json()
            if m.get("touser") == shopper.wechat_openid and order.number in str(m)
        ])
    assert sent and sent[-1]["template_id"] == "SIM_TPL_ORDER_PAID"
    assert order.number in str(sent[-1])
    payment = Payment.objects.get(pk=start.payment.pk)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.transaction_id
    notification = WeChatNotification.objects.get()
    assert notification.event_type == "TRANSACTION.SUCCESS"
    assert notification.outcome == "applied"
    delivered = [c for c in sim_callbacks(sim) if c["url"].endswith("/payments/wechat/notify/")]
    assert delivered[-1]["status_code"] == 200
    assert "pay-mall.localhost" in delivered[-1]["url"]


def test_ten_concurrent_deliveries_change_the_order_once(live_mall, sim, live_server):
    merchant, sku, shopper, address = live_mall
    order = _order(sku, shopper, address)
    start = services.payment_start(order=order, shopper=shopper, channel=PaymentChannel.NATIVE)
    sim.simulator.callbacks.hold(True)  # we deliver the callback ourselves, ten times at once
    sim_pay(sim, start.payment)
    held = wait_for(lambda: sim.simulator.callbacks._held)
    url, notification, _ = held[0]

    from simulators.wechat.signing import response_headers

    port = live_server.url.rsplit(":", 1)[1]
    deliveries = []
    for _ in range(10):  # each signed apart, as WeChat's retries are
        headers = response_headers(sim.simulator.config.credentials, notification.body)
        headers.update({"Content-Type": "application/json", "Host": f"pay-mall.localhost:{port}"})
        deliveries.append(partial(
            requests.post, f"http://127.0.0.1:{port}/api/v1/payments/wechat/notify/",
            data=notification.body, headers=headers, timeout=10,
        ))

    result = race(deliveries)

    assert result.peak > 1
    assert [response.status_code for response in result.values()] == [200] * 10
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.status_changes.filter(to_status=OrderStatus.PAID).count() == 1
    sku.refresh_from_db()
    assert sku.sales_count == 2  # counted once
    assert WeChatNotification.objects.count() == 1


def test_a_lost_callback_is_recovered_by_the_query_job(live_mall, sim):
    merchant, sku, shopper, address = live_mall
    order = _order(sku, shopper, address)
    start = services.payment_start(order=order, shopper=shopper, channel=PaymentChannel.H5)
    assert start.h5_url
    sim.simulator.callbacks.hold(True)
    sim_pay(sim, start.payment)

    assert query_late_payments() == 0  # too recent to chase
    Payment.objects.filter(pk=start.payment.pk).update(
        created_at=start.payment.created_at.replace(year=2020)
    )
    assert query_late_payments() == 1
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert query_late_payments() == 0


def test_refund_returns_the_money_and_closes_the_order(live_mall, sim):
    merchant, sku, shopper, address = live_mall
    order = _order(sku, shopper, address)
    start = services.payment_start(order=order, shopper=shopper, channel=PaymentChannel.NATIVE)
    sim_pay(sim, start.payment)
    assert wait_for(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID)

    line = order.lines.get()
    case = after_sales_request(
        order=order, shopper_id=shopper.pk, items=[RefundItem(line.pk, 2)],
        reason="damaged",
    )
    celery_app.control.purge()
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        after_sales_approve(request_id=case.pk, staff_user_id=1)  # queues the refund
        assert wait_for(lambda: Refund.objects.filter(after_sales=case).exists())
        refund = Refund.objects.get(after_sales=case)
        assert refund.amount_fen == order.total_fen
        assert wait_for(lambda: Refund.objects.get(pk=refund.pk).status == "succeeded")
    case.refresh_from_db()
    order.refresh_from_db()
    sku.refresh_from_db()
    assert case.status == AfterSalesStatus.REFUNDED
    assert order.status == OrderStatus.REFUNDED
    assert order.refunded_fen == order.total_fen
    assert sku.stock == 20  # not shipped: the goods went back on the shelf
    assert refund_start(after_sales_id=case.pk).pk == refund.pk  # idempotent


def test_partial_refund_keeps_the_order_open(live_mall, sim):
    merchant, sku, shopper, address = live_mall
    order = _order(sku, shopper, address, quantity=3)
    start = services.payment_start(order=order, shopper=shopper, channel=PaymentChannel.NATIVE)
    sim_pay(sim, start.payment)
    assert wait_for(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID)
    line = order.lines.get()
    case = after_sales_request(
        order=order, shopper_id=shopper.pk, items=[RefundItem(line.pk, 1)], reason="quality"
    )
    after_sales_approve(request_id=case.pk, staff_user_id=1)
    refund_start(after_sales_id=case.pk)
    assert wait_for(lambda: Refund.objects.get(after_sales=case).status == "succeeded")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.refunded_fen == line.paid_fen // 3


def test_reconciliation_flags_what_the_bill_does_not_show(live_mall, sim, sub_merchant):
    merchant, sku, shopper, address = live_mall
    order = _order(sku, shopper, address)
    start = services.payment_start(order=order, shopper=shopper, channel=PaymentChannel.NATIVE)
    sim_pay(sim, start.payment)
    assert wait_for(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID)
    payment = Payment.objects.get(pk=start.payment.pk)
    from storefront.payments.reconciliation import SHANGHAI

    bill_date = payment.paid_at.astimezone(SHANGHAI).date()

    def ours(mismatches):
        # the session's simulator also holds other tests' malls on this sub-merchant
        return [(m.kind, m.out_trade_no) for m in mismatches
                if m.out_trade_no == payment.out_trade_no]

    assert ours(reconciliation_run(bill_date=bill_date)) == []

    requests.post(
        f"{sim.base_url}/_sim/bill-tamper",
        json={"bill_date": bill_date.isoformat(),
              "out_trade_no": payment.out_trade_no, "action": "drop"},
        timeout=5,
    ).raise_for_status()
    assert ours(reconciliation_run(bill_date=bill_date)) == [
        ("missing_in_bill", payment.out_trade_no)
    ]
    before = ReconciliationMismatch.objects.count()
    reconciliation_run(bill_date=bill_date)
    assert ReconciliationMismatch.objects.count() == before  # each difference flagged once


def test_reconciliation_books_the_days_fees_and_checks_the_ledger_against_the_bill(
    live_mall, sim
):
    merchant, sku, shopper, address = live_mall
    order = _order(sku, shopper, address)  # 2 × 29.90
    start = services.payment_start(order=order, shopper=shopper, channel=PaymentChannel.NATIVE)
    sim_pay(sim, start.payment)
    assert wait_for(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID)
    case = after_sales_request(order=order, shopper_id=shopper.pk,
                               items=[RefundItem(order.lines.get().pk, 1)], reason="quality")
    after_sales_approve(request_id=case.pk, staff_user_id=1)
    refund = refund_start(after_sales_id=case.pk)
    assert wait_for(lambda: Refund.objects.get(pk=refund.pk).status == "succeeded")
    payment = Payment.objects.get(pk=start.payment.pk)
    from storefront.payments.reconciliation import SHANGHAI

    bill_date = payment.paid_at.astimezone(SHANGHAI).date()

    def ours(mismatches):
        return sorted((m.kind, m.details.get("source", "")) for m in mismatches
                      if m.out_trade_no == payment.out_trade_no)

    assert ours(reconciliation_run(bill_date=bill_date)) == []
    # 0.6 % of 59.80 is 0.3588 (36 fen), returned on the 29.90 refund: 0.1794 (18 fen)
    bill = ReconciledBill.objects.get(bill_date=bill_date)
    assert (bill.paid_fen, bill.refunded_fen, bill.fee_fen) == (5980, 2990, 36 - 18)
    assert account_balance(code="wechat_fees") == 18
    assert account_balance(code="wechat_clearing") == 5980 - 2990 - 18
    reconciliation_run(bill_date=bill_date)  # again: the fees are booked once
    assert JournalEntry.objects.filter(source="wechat_fees").count() == 1
    assert ledger_check().ok

    requests.post(
        f"{sim.base_url}/_sim/bill-tamper",
        json={"bill_date": bill_date.isoformat(), "out_trade_no": payment.out_trade_no,
              "action": "change", "changes": {"应结订单金额": "59.00"}},
        timeout=5,
    ).raise_for_status()
    assert ours(reconciliation_run(bill_date=bill_date)) == [
        ("amount", ""), ("ledger", "payment"),
    ]
    assert ledger_check().ok  # the ledger follows our rows; staff settle the difference
