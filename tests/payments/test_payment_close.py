"""Payments close: cancelling an order closes its WeChat transaction first (or, if WeChat
saw it paid meanwhile, applies the payment instead); expired payments are closed and no
longer polled; money that still arrives for an order that cannot take it goes back by
itself, with staff told. Against the WeChat simulator, callbacks over HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from celery.contrib.testing.worker import start_worker

from control_plane.celery import app as celery_app
from storefront.ledger.checks import ledger_check
from storefront.ledger.selectors import account_balance
from storefront.orders.models import Order, OrderStatus
from storefront.orders.services import CheckoutItem, order_place
from storefront.payments import selectors, services
from storefront.payments.models import (
    MismatchKind,
    Payment,
    PaymentChannel,
    PaymentStatus,
    ReconciliationMismatch,
    Refund,
    RefundStatus,
)
from storefront.payments.tasks import cancel_overdue_orders, query_late_payments
from storefront.web.shopper_session import SESSION_KEY
from tests.conftest import OWNER_PASSWORD, host_client
from tests.payments.conftest import sim_pay, wait_for

pytestmark = pytest.mark.usefixtures("committed_cleanup")
LIVE_MALL_SLUG = "close-mall"


@pytest.fixture
def unpaid(live_mall):
    """An order of one unit with a Native payment started at WeChat, not paid."""
    merchant, sku, shopper, address = live_mall
    order = order_place(shopper=shopper, items=[CheckoutItem(sku_id=sku.pk, quantity=1)],
                        address_id=address.pk)
    payment = services.payment_start(
        order=order, shopper=shopper, channel=PaymentChannel.NATIVE
    ).payment
    return merchant, shopper, order, payment


def _trade_state(sim, payment) -> str:
    trades = requests.get(f"{sim.base_url}/_sim/transactions", timeout=5).json()
    return next(t["trade_state"] for t in trades if t["out_trade_no"] == payment.out_trade_no)


def _shopper_client(merchant, shopper):
    client = host_client(merchant)
    session = client.session
    session[SESSION_KEY] = shopper.pk
    session.save()
    return client


def test_cancelling_closes_the_trade_first_so_it_can_no_longer_be_paid(unpaid, sim):
    merchant, shopper, order, payment = unpaid
    answer = _shopper_client(merchant, shopper).post(f"/api/v1/orders/{order.number}/cancel/")

    assert answer.status_code == 200
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CLOSED
    assert _trade_state(sim, payment) == "CLOSED"
    with pytest.raises(requests.HTTPError):
        sim_pay(sim, payment)  # the shopper's cashier page is dead now
    assert Payment.objects.get(pk=payment.pk).events.last().reason == (
        "closed: cancelled by the shopper"
    )


def test_a_trade_paid_meanwhile_is_applied_instead_of_cancelled(unpaid, sim):
    merchant, shopper, order, payment = unpaid
    sim.simulator.callbacks.hold(True)  # paid at WeChat, its callback not here yet
    sim_pay(sim, payment)

    answer = _shopper_client(merchant, shopper).post(f"/api/v1/orders/{order.number}/cancel/")

    assert answer.status_code == 409
    assert answer.json()["code"] == "order_paid_meanwhile"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED


def test_the_deadline_sweep_closes_the_trade_and_cancels(unpaid, sim):
    merchant, shopper, order, payment = unpaid
    Order.objects.filter(pk=order.pk).update(
        pay_deadline=order.pay_deadline - dt.timedelta(hours=1)
    )

    assert cancel_overdue_orders() == 1

    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert _trade_state(sim, payment) == "CLOSED"
    assert cancel_overdue_orders() == 0


def test_an_expired_payment_is_closed_and_no_longer_polled(unpaid, sim):
    merchant, shopper, order, payment = unpaid
    past = payment.created_at - dt.timedelta(hours=1)
    Payment.objects.filter(pk=payment.pk).update(created_at=past, expires_at=past)

    assert query_late_payments() == 1

    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CLOSED
    assert _trade_state(sim, payment) == "CLOSED"
    assert list(selectors.payments_awaiting_callback()) == []
    assert query_late_payments() == 0


def test_money_an_order_cannot_take_goes_back_by_itself_and_staff_are_told(live_mall, sim):
    """The shopper pays twice (two channels, two trades): the second payment finds the
    order already paid, and is refunded whole, automatically."""
    merchant, sku, shopper, address = live_mall
    order = order_place(shopper=shopper, items=[CheckoutItem(sku_id=sku.pk, quantity=1)],
                        address_id=address.pk)
    first = services.payment_start(order=order, shopper=shopper,
                                   channel=PaymentChannel.NATIVE).payment
    second = services.payment_start(order=order, shopper=shopper,
                                    channel=PaymentChannel.H5).payment
    celery_app.control.purge()
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        sim_pay(sim, first)
        assert wait_for(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID)
        sim_pay(sim, second)
        refund = wait_for(lambda: Refund.objects.filter(
            payment=second, status=RefundStatus.SUCCEEDED).first(), timeout=20)

    assert refund is not None and refund.after_sales_id is None
    assert refund.amount_fen == second.amount_fen
    assert ReconciliationMismatch.objects.get(
        kind=MismatchKind.PAID_AFTER_CANCEL, out_trade_no=second.out_trade_no
    ).details["action"] == "refunded automatically"
    assert account_balance(code="unapplied_receipts") == 0  # owed, then paid back
    assert account_balance(code="wechat_clearing") == first.amount_fen
    assert ledger_check().ok
    staff = host_client(merchant)
    staff.post("/console/login/", {"username": "o@example.com", "password": OWNER_PASSWORD})
    assert second.out_trade_no in staff.get("/console/payments/alerts/").content.decode()
