"""A mall that sells: a commission plan, a chain of distributors, goods, and shoppers who
pay through the payments service (as WeChat's callback does) and get refunds the same way."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from storefront.orders.after_sales import RefundItem, after_sales_approve, after_sales_request
from storefront.orders.models import Order
from storefront.payments import refunds, services
from storefront.payments.models import Payment, Refund
from tests.distribution.conftest import make_chain, make_plan, make_shopper, place
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory

SUB_MCHID = "1900000109"
_numbers = itertools.count(1)


def pay(order: Order) -> Order:
    """Pay the order as WeChat reports it: a payment row, then its SUCCESS resource."""
    payment = Payment.objects.create(
        order=order, out_trade_no=f"{order.number}{next(_numbers):02d}", channel="native",
        sub_mchid=SUB_MCHID, amount_fen=order.total_fen,
        expires_at=timezone.now() + dt.timedelta(minutes=30),
    )
    services.payment_apply_transaction(resource={
        "out_trade_no": payment.out_trade_no, "sub_mchid": SUB_MCHID, "trade_state": "SUCCESS",
        "transaction_id": f"42000{payment.pk:010d}", "amount": {"total": payment.amount_fen},
        "success_time": timezone.now().isoformat(),
    }, source="callback")
    order.refresh_from_db()
    return order


def refund(order: Order, quantity: int = 1) -> Order:
    """A shopper's after-sales case for `quantity` units of the first line, approved by
    staff, refunded by WeChat."""
    line = order.lines.order_by("pk").first()
    case = after_sales_request(order=order, shopper_id=order.shopper_id,
                               items=[RefundItem(line.pk, quantity)], reason="quality")
    after_sales_approve(request_id=case.pk, staff_user_id=1)
    case.refresh_from_db()
    row = Refund.objects.create(after_sales=case, payment=order.payments.get(status="succeeded"),
                                out_refund_no=f"RF{case.pk:06d}", amount_fen=case.refund_fen)
    refunds.refund_apply(resource={
        "out_refund_no": row.out_refund_no, "sub_mchid": SUB_MCHID,
        "out_trade_no": row.payment.out_trade_no, "refund_status": "SUCCESS",
        "refund_id": f"5030{row.pk:08d}",
        "amount": {"refund": row.amount_fen, "total": row.payment.amount_fen},
    }, source="callback")
    order.refresh_from_db()
    return order


@pytest.fixture
def selling_mall(mall):
    """Goods, a plan (10% / 5%), a chain top → bottom, and a buyer bound to the bottom."""
    from storefront.distribution.models import DistributionSettings

    rules = DistributionSettings.current()
    rules.binding_mode = "permanent"
    rules.save()
    make_plan()
    ShippingTemplateFactory(default_fee_fen=1000, free_above_fen=0)
    mug = SkuFactory(price_fen=9900, stock=100, product__title="Mug")
    tea = SkuFactory(price_fen=4500, stock=100, product__title="Tea")
    top, bottom = make_chain(2)
    return {"mall": mall, "mug": mug, "tea": tea, "top": top, "bottom": bottom,
            "buyer": make_shopper(), "other": make_shopper()}


__all__ = ["pay", "refund", "place", "selling_mall"]
