"""Refunds never get stuck: every approved after-sales case ends refunded, or back in
staff's hands with the reason. Against the WeChat simulator, callbacks over HTTP."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from celery.contrib.testing.worker import start_worker

from control_plane.celery import app as celery_app
from core import outbox
from core.models import OutboxMessage
from simulators.wechat.signing import build_notification, response_headers
from storefront.ledger.checks import ledger_check
from storefront.ledger.models import JournalEntry
from storefront.orders.after_sales import (
    RefundItem,
    after_sales_approve,
    after_sales_request,
    after_sales_retry_refund,
)
from storefront.orders.models import AfterSalesRequest, AfterSalesStatus, Order, OrderStatus
from storefront.orders.services import CheckoutItem, order_place
from storefront.payments import refunds, services, wire
from storefront.payments.models import PaymentChannel, Refund, RefundStatus
from storefront.payments.tasks import query_processing_refunds, start_refund
from tenants import wechatpay_gateway
from tests.conftest import OWNER_PASSWORD, host_client
from tests.payments.conftest import redis_down, sim_pay, wait_for

pytestmark = pytest.mark.usefixtures("committed_cleanup")
LIVE_MALL_SLUG = "refund-mall"
REFUND_NOTIFY = "/api/v1/payments/wechat/refund-notify/"


@pytest.fixture
def paid_case(live_mall, sim):
    """A paid order of 2 units and an after-sales case for one of them, not yet decided."""
    merchant, sku, shopper, address = live_mall
    order = order_place(shopper=shopper, items=[CheckoutItem(sku_id=sku.pk, quantity=2)],
                        address_id=address.pk)
    start = services.payment_start(order=order, shopper=shopper, channel=PaymentChannel.NATIVE)
    sim_pay(sim, start.payment)
    assert wait_for(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID)
    case = after_sales_request(order=order, shopper_id=shopper.pk,
                               items=[RefundItem(order.lines.get().pk, 1)], reason="damaged")
    return merchant, order, case


@pytest.fixture
def wechat_unreachable():
    """WeChat Pay's host refuses connections until the returned function is called."""
    core = wechatpay_gateway.client()._core
    gateway = core._gate_way
    core._gate_way = "http://127.0.0.1:9"  # discard: nothing listens
    yield lambda: setattr(core, "_gate_way", gateway)
    core._gate_way = gateway


def _refunded(case) -> bool:
    return AfterSalesRequest.objects.get(pk=case.pk).status == AfterSalesStatus.REFUNDED


def test_a_refund_whose_first_send_dies_on_the_network_is_sent_again(
    paid_case, wechat_unreachable, monkeypatch
):
    merchant, order, case = paid_case
    after_sales_approve(request_id=case.pk, staff_user_id=1)
    attempts = []
    send = wire.send
    monkeypatch.setattr(wire, "send", lambda call: attempts.append(1) or send(call))

    # The task retries (run eagerly here: its retries follow at once, not after backoff) …
    result = start_refund.apply(kwargs={"after_sales_id": case.pk})
    assert (len(attempts), result.state) == (1 + start_refund.max_retries, "FAILURE")
    refund = Refund.objects.get(after_sales=case)
    assert (refund.status, refund.refund_id) == (RefundStatus.PROCESSING, "")
    assert "did not answer" in refund.last_error

    # … and should every retry fail too, the query job sends it again once WeChat is back.
    wechat_unreachable()
    Refund.objects.filter(pk=refund.pk).update(created_at=refund.created_at.replace(year=2020))
    assert query_processing_refunds() == 1
    assert wait_for(lambda: _refunded(case))
    assert Refund.objects.filter(after_sales=case).count() == 1  # the same refund, re-sent
    assert JournalEntry.objects.filter(source="refund").count() == 1
    assert ledger_check().ok


def test_an_approval_whose_task_was_lost_is_picked_up(paid_case):
    merchant, order, case = paid_case
    after_sales_approve(request_id=case.pk, staff_user_id=1)
    OutboxMessage.objects.all().delete()  # the start_refund message is gone for good
    AfterSalesRequest.objects.filter(pk=case.pk).update(
        decided_at=AfterSalesRequest.objects.get(pk=case.pk).decided_at - dt.timedelta(minutes=5)
    )

    assert query_processing_refunds() == 1
    assert wait_for(lambda: _refunded(case))


def test_a_broker_outage_during_approval_loses_no_refund(paid_case):
    merchant, order, case = paid_case
    staff = host_client(merchant)
    assert staff.post("/console/login/", {"username": "o@example.com",
                                          "password": OWNER_PASSWORD}).status_code == 302
    celery_app.control.purge()

    with redis_down():
        approved = staff.post(f"/api/v1/console/after-sales/{case.pk}/approve/",
                              json.dumps({"note": "sorry"}), content_type="application/json")
        assert approved.status_code == 200, approved.content
        assert list(OutboxMessage.objects.values_list("task", flat=True)) == [
            "storefront.payments.tasks.start_refund"
        ]
        assert not Refund.objects.exists()

    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        assert outbox.relay(min_age=dt.timedelta(0)) == 1
        assert wait_for(lambda: _refunded(case))
    assert Order.objects.get(pk=order.pk).refunded_fen == 2990


def test_a_refund_wechat_refuses_goes_back_to_staff_who_can_retry(paid_case):
    merchant, order, case = paid_case
    after_sales_approve(request_id=case.pk, staff_user_id=1)
    # More than the payment can give back: WeChat refuses the request itself.
    AfterSalesRequest.objects.filter(pk=case.pk).update(refund_fen=999_999)

    with pytest.raises(wechatpay_gateway.WeChatPayError):
        refunds.refund_start(after_sales_id=case.pk)

    case.refresh_from_db()
    first = Refund.objects.get(after_sales=case)
    assert (first.status, case.status) == (RefundStatus.REFUSED, AfterSalesStatus.REFUND_FAILED)
    failure = case.events.get(to_status=AfterSalesStatus.REFUND_FAILED)
    assert failure.reason.startswith("WeChat refused the refund: ")
    assert failure.reference == first.out_refund_no

    AfterSalesRequest.objects.filter(pk=case.pk).update(refund_fen=2990)  # staff fix it …
    after_sales_retry_refund(request_id=case.pk, staff_user_id=1, note="amount corrected")
    second = refunds.refund_start(after_sales_id=case.pk)  # … and a new attempt goes out
    assert second.out_refund_no == f"{first.out_refund_no}-2"
    assert wait_for(lambda: _refunded(case))
    assert Order.objects.get(pk=order.pk).refunded_fen == 2990


def _signed_refund_callback(credentials, refund: Refund, state: str):
    payment = refund.payment
    resource = {
        "sp_mchid": "1900000100", "sub_mchid": payment.sub_mchid,
        "transaction_id": payment.transaction_id, "out_trade_no": payment.out_trade_no,
        "refund_id": refund.refund_id or "50300000000000000000000001",
        "out_refund_no": refund.out_refund_no, "refund_status": state,
        "user_received_account": "支付用户零钱",
        "amount": {"total": payment.amount_fen, "refund": refund.amount_fen,
                   "payer_total": payment.amount_fen, "payer_refund": refund.amount_fen},
    }
    notification = build_notification(credentials, f"REFUND.{state}", "退款关闭", "refund",
                                      resource)
    headers = response_headers(credentials, notification.body)
    return notification.body, {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}


def test_a_closed_refund_puts_the_case_back_to_staff_with_the_reason(
    paid_case, sim, sim_credentials
):
    merchant, order, case = paid_case
    sim.simulator.callbacks.hold(True)  # WeChat's own SUCCESS stays away: it reports CLOSED
    after_sales_approve(request_id=case.pk, staff_user_id=1)
    refund = refunds.refund_start(after_sales_id=case.pk)
    body, headers = _signed_refund_callback(sim_credentials, refund, "CLOSED")

    answer = host_client(merchant).post(REFUND_NOTIFY, data=body,
                                        content_type="application/json", **headers)

    assert answer.status_code == 200
    case.refresh_from_db()
    assert case.status == AfterSalesStatus.REFUND_FAILED
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.CLOSED
    staff = host_client(merchant)
    staff.post("/console/login/", {"username": "o@example.com", "password": OWNER_PASSWORD})
    listed = staff.get("/console/after-sales/?status=refund_failed").content.decode()
    assert f'id="failure-{case.pk}"' in listed
    page = staff.get(f"/console/after-sales/{case.pk}/").content.decode()
    assert "WeChat closed the refund" in page and f'id="retry-{case.pk}"' in page

    rejected = staff.post(f"/console/after-sales/{case.pk}/decide/",
                          {"decision": "reject", "note": "refunded in cash at the shop"})
    assert rejected.status_code == 302
    case.refresh_from_db()
    assert case.status == AfterSalesStatus.REJECTED
    # the order is free to complete: no case is open any more
    assert not order.after_sales.filter(status__in=["requested", "approved", "refund_failed"])
