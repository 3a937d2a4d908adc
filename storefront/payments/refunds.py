"""Refunds through WeChat Pay, driving the order's after-sales flow.

Staff approving an after-sales case publishes `after_sales.approved`; the payments app
subscribes with the `start_refund` task (payments.apps), which calls `refund_start` after
the commit. WeChat answers PROCESSING and reports the outcome by callback (or to the query
job); `refund_apply` moves the refund through its state machine, whose `refund.succeeded`
event closes the case in the orders app and posts the refund to the ledger.
"""

from __future__ import annotations

import logging

from django.db import transaction

from core.actors import Actor
from storefront.orders.models import AfterSalesRequest, AfterSalesStatus
from storefront.payments.errors import PaymentMismatch, PaymentNotAllowed
from storefront.payments.models import (
    MismatchKind,
    Payment,
    PaymentStatus,
    ReconciliationMismatch,
    Refund,
    RefundStatus,
)
from storefront.payments.services import notify_url
from storefront.payments.transitions import REFUND_MACHINE
from tenants import wechatpay_gateway
from tenants.selectors import merchant_current

logger = logging.getLogger(__name__)

_REFUND_STATES = {
    "SUCCESS": RefundStatus.SUCCEEDED,
    "CLOSED": RefundStatus.CLOSED,
    "ABNORMAL": RefundStatus.ABNORMAL,
}


def refund_start(*, after_sales_id: int) -> Refund:
    """Ask WeChat to refund an approved case. Safe to call again: the out_refund_no is
    fixed per case, so WeChat treats a repeat as the same refund."""
    case = AfterSalesRequest.objects.select_related("order").get(pk=after_sales_id)
    if case.status not in (AfterSalesStatus.APPROVED, AfterSalesStatus.REFUNDED):
        raise PaymentNotAllowed("Only an approved after-sales case is refunded.")
    payment = Payment.objects.filter(order=case.order, status=PaymentStatus.SUCCEEDED).first()
    if payment is None:
        raise PaymentNotAllowed("This order has no WeChat Pay payment to refund.")
    with transaction.atomic():
        refund, created = Refund.objects.get_or_create(
            after_sales=case,
            defaults={
                "payment": payment,
                "out_refund_no": f"RF{case.pk:06d}{case.order.number}",
                "amount_fen": case.refund_fen,
            },
        )
        if created:
            REFUND_MACHINE.record_creation(
                refund, actor=Actor.system(), reason=f"after-sales case {case.pk} approved"
            )
    if refund.status != RefundStatus.PROCESSING:
        return refund
    merchant = merchant_current()
    code, message = wechatpay_gateway.client().refund(
        out_refund_no=refund.out_refund_no,
        amount={"refund": refund.amount_fen, "total": payment.amount_fen, "currency": "CNY"},
        transaction_id=payment.transaction_id,
        reason=case.reason,
        notify_url=notify_url(merchant, "refund-notify"),
        sub_mchid=payment.sub_mchid,
    )
    try:
        body = wechatpay_gateway.parse(code, message)
    except wechatpay_gateway.WeChatPayError as exc:
        Refund.objects.filter(pk=refund.pk).update(last_error=exc.message[:300])
        raise
    Refund.objects.filter(pk=refund.pk).update(refund_id=body.get("refund_id", ""))
    if body.get("status") in _REFUND_STATES:
        refund_apply(resource={**body, "sub_mchid": payment.sub_mchid}, source="refund-call")
    refund.refresh_from_db()
    return refund


def refund_apply(*, resource: dict, source: str) -> tuple[Refund, str]:
    """Apply a refund resource (callback or query). Checks it is ours first; idempotent:
    a state already recorded is a duplicate, a stale one changes nothing."""
    out_refund_no = resource.get("out_refund_no", "")
    refund = Refund.objects.select_related("payment").filter(out_refund_no=out_refund_no).first()
    if refund is None:
        raise PaymentMismatch(f"Unknown out_refund_no {out_refund_no!r}.")
    if resource.get("sub_mchid") and resource["sub_mchid"] != refund.payment.sub_mchid:
        raise PaymentMismatch("The sub-merchant does not match this refund.")
    amount = resource.get("amount") or {}
    if amount.get("refund") != refund.amount_fen:
        raise PaymentMismatch("The refund amount does not match.")
    state = resource.get("refund_status") or resource.get("status")
    new_status = _REFUND_STATES.get(state)
    if new_status is None:
        return refund, "unchanged"
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status == new_status:
            return refund, "duplicate"
        if not REFUND_MACHINE.can_move(refund.status, new_status):
            logger.error("refund %s is %s but WeChat now reports %s (%s)",
                         refund.out_refund_no, refund.status, state, source)
            return refund, "unchanged"
        wechat_refund_id = resource.get("refund_id") or refund.refund_id
        refund = REFUND_MACHINE.transition(
            pk=refund.pk, to_status=new_status, actor=Actor.wechat(),
            reason=f"{state}, reported by {source}", reference=wechat_refund_id,
            changes={"refund_id": wechat_refund_id},
        )
        if new_status != RefundStatus.SUCCEEDED:
            ReconciliationMismatch.objects.get_or_create(
                kind=MismatchKind.REFUND, out_trade_no=refund.payment.out_trade_no,
                bill_date=None,
                defaults={"details": {"out_refund_no": refund.out_refund_no, "state": state,
                                      "source": source}},
            )
    return refund, "applied"


def refund_query(*, refund: Refund) -> tuple[Refund, str]:
    code, message = wechatpay_gateway.client().query_refund(
        out_refund_no=refund.out_refund_no, sub_mchid=refund.payment.sub_mchid
    )
    body = wechatpay_gateway.parse(code, message)
    return refund_apply(resource={**body, "sub_mchid": refund.payment.sub_mchid}, source="query")
