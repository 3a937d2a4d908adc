"""Refunds through WeChat Pay: of after-sales cases, and of payments that arrived after
their order was cancelled.

Staff approving a case publishes `after_sales.approved`; the payments app subscribes with
the `start_refund` task (payments.apps), which calls `refund_start` after the commit. A
refund row (one attempt, its own `out_refund_no`) is written before anything is sent, so
nothing can be refunded twice: WeChat treats a repeat of an `out_refund_no` as the same
refund. WeChat answers PROCESSING and reports the outcome by callback or to the query job;
`refund_apply` moves the row through its state machine, whose events do the rest:
`refund.succeeded` closes the case and posts to the ledger; `refund.closed`, `.abnormal` and
`.refused` put the case back in staff's hands with the reason, to retry (a new attempt) or
to reject.

Nothing stays stuck: a send that dies on the network is retried by the task, a refund
WeChat never acknowledged is sent again by the query job, and an approved case whose task
was lost is picked up by the same job.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.actors import Actor
from storefront.orders.models import AfterSalesRequest, AfterSalesStatus
from storefront.payments import wire
from storefront.payments.errors import PaymentMismatch, PaymentNotAllowed
from storefront.payments.models import (
    LIVE_REFUND_STATUSES,
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
UNAPPLIED_REFUND_REASON = "订单已取消，款项原路退回"  # "order cancelled, money returned"


def _case_refund_no(case: AfterSalesRequest, attempt: int) -> str:
    base = f"RF{case.pk:06d}{case.order.number}"
    return base if attempt == 1 else f"{base}-{attempt}"


def refund_start(*, after_sales_id: int) -> Refund:
    """Refund an approved case: its live refund if it has one (sent again while WeChat has
    not acknowledged it), else a new attempt. Safe to call any number of times."""
    case = AfterSalesRequest.objects.select_related("order").get(pk=after_sales_id)
    if case.status not in (AfterSalesStatus.APPROVED, AfterSalesStatus.REFUNDED):
        raise PaymentNotAllowed("Only an approved after-sales case is refunded.")
    payment = Payment.objects.filter(order=case.order, status=PaymentStatus.SUCCEEDED).first()
    if payment is None:
        raise PaymentNotAllowed("This order has no WeChat Pay payment to refund.")
    with transaction.atomic():
        AfterSalesRequest.objects.select_for_update().get(pk=case.pk)  # one attempt at a time
        refund = case.refunds.filter(status__in=LIVE_REFUND_STATUSES).first()
        if refund is None:
            if case.status != AfterSalesStatus.APPROVED:
                raise PaymentNotAllowed("This case has no refund to send.")
            refund = Refund.objects.create(
                after_sales=case, payment=payment, amount_fen=case.refund_fen,
                out_refund_no=_case_refund_no(case, case.refunds.count() + 1),
            )
            REFUND_MACHINE.record_creation(
                refund, actor=Actor.system(), reason=f"after-sales case {case.pk} approved"
            )
    if refund.status != RefundStatus.PROCESSING:
        return refund
    return refund_send(refund=refund, reason=case.reason)


def refund_unapplied_payment(*, payment_id: int) -> Refund:
    """Return, whole, a payment that arrived after its order was cancelled (or a second
    payment of one order): the money is not the merchant's. Idempotent."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.status != PaymentStatus.SUCCEEDED or not ReconciliationMismatch.objects.filter(
        kind=MismatchKind.PAID_AFTER_CANCEL, out_trade_no=payment.out_trade_no
    ).exists():
        raise PaymentNotAllowed("Only a payment no order took is returned whole.")
    try:
        with transaction.atomic():
            refund, created = Refund.objects.get_or_create(
                payment=payment, after_sales=None,
                defaults={"out_refund_no": f"RX{payment.out_trade_no}",
                          "amount_fen": payment.amount_fen},
            )
            if created:
                REFUND_MACHINE.record_creation(
                    refund, actor=Actor.system(), reason="paid after the order was cancelled"
                )
    except IntegrityError:  # a concurrent run created it
        refund = Refund.objects.get(payment=payment, after_sales=None)
    if refund.status != RefundStatus.PROCESSING:
        return refund
    return refund_send(refund=refund, reason=UNAPPLIED_REFUND_REASON)


def refund_send(*, refund: Refund, reason: str) -> Refund:
    """Send (again) the refund request of a row still PROCESSING. A network failure leaves
    the row as it is (sent again later); WeChat refusing the request makes it REFUSED."""
    payment = refund.payment
    try:
        body = wire.send(lambda: wechatpay_gateway.client().refund(
            out_refund_no=refund.out_refund_no,
            amount={"refund": refund.amount_fen, "total": payment.amount_fen, "currency": "CNY"},
            transaction_id=payment.transaction_id,
            reason=reason[:80],
            notify_url=notify_url(merchant_current(), "refund-notify"),
            sub_mchid=payment.sub_mchid,
        ))
    except wechatpay_gateway.WeChatPayError as exc:
        wire.record_send_failure(
            REFUND_MACHINE, refund.pk, exc, created=RefundStatus.PROCESSING,
            refused_status=RefundStatus.REFUSED,
        )
        raise
    Refund.objects.filter(pk=refund.pk).update(
        refund_id=body.get("refund_id", ""), last_error=""
    )
    if body.get("status") in _REFUND_STATES:
        refund_apply(resource=_as_reported(body, payment), source="refund-call")
    refund.refresh_from_db()
    return refund


def _as_reported(body: dict, payment: Payment) -> dict:
    """The create and query answers leave the sub-merchant out (the request named it, and
    the answer's signature verified): put it in, so every source is checked the same way."""
    return {**body, "sub_mchid": payment.sub_mchid}


def refund_apply(*, resource: dict, source: str) -> tuple[Refund, str]:
    """Apply a refund resource (callback, call answer or query). Everything must match
    before anything changes: the refund, the sub-merchant, the trade and both amounts.
    Idempotent: a state already recorded is a duplicate, a stale one changes nothing."""
    out_refund_no = resource.get("out_refund_no", "")
    refund = Refund.objects.select_related("payment").filter(out_refund_no=out_refund_no).first()
    if refund is None:
        raise PaymentMismatch(f"Unknown out_refund_no {out_refund_no!r}.")
    payment = refund.payment
    if resource.get("sub_mchid") != payment.sub_mchid:
        raise PaymentMismatch("The sub-merchant does not match this refund.")
    if resource.get("out_trade_no") != payment.out_trade_no:
        raise PaymentMismatch("The trade does not match this refund.")
    amount = resource.get("amount") or {}
    if amount.get("refund") != refund.amount_fen:
        raise PaymentMismatch("The refund amount does not match.")
    if amount.get("total") != payment.amount_fen:
        raise PaymentMismatch("The trade's amount does not match this refund's payment.")
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
                kind=MismatchKind.REFUND, out_trade_no=payment.out_trade_no, bill_date=None,
                defaults={"details": {"out_refund_no": refund.out_refund_no, "state": state,
                                      "source": source}},
            )
    return refund, "applied"


def refund_query(*, refund: Refund) -> tuple[Refund, str]:
    """Ask WeChat about a refund still processing. One it never acknowledged (no refund id
    yet, or WeChat does not know it) is sent again instead: same out_refund_no, same refund."""
    if not refund.refund_id:
        return _send_again(refund)
    try:
        body = wire.send(lambda: wechatpay_gateway.client().query_refund(
            out_refund_no=refund.out_refund_no, sub_mchid=refund.payment.sub_mchid
        ))
    except wechatpay_gateway.WeChatPayError as exc:
        if exc.http_status == 404:
            return _send_again(refund)
        raise
    return refund_apply(resource=_as_reported(body, refund.payment), source="query")


def _send_again(refund: Refund) -> tuple[Refund, str]:
    reason = refund.after_sales.reason if refund.after_sales_id else UNAPPLIED_REFUND_REASON
    return refund_send(refund=refund, reason=reason), "resent"


def refunds_awaiting(*, older_than_seconds: int = 60, limit: int = 200):
    """Refunds WeChat has not finished: asked about (or sent again) by the query job."""
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    return Refund.objects.filter(
        status=RefundStatus.PROCESSING, created_at__lte=cutoff
    ).select_related("payment", "after_sales").order_by("created_at")[:limit]


def cases_awaiting_refund(*, older_than_seconds: int = 60, limit: int = 200):
    """Approved cases with no live refund a minute after their approval: their task was
    lost (or failed for good). The query job starts them."""
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    live = Refund.objects.filter(after_sales=OuterRef("pk"), status__in=LIVE_REFUND_STATUSES)
    return AfterSalesRequest.objects.filter(
        status=AfterSalesStatus.APPROVED, decided_at__lte=cutoff
    ).exclude(Exists(live)).order_by("decided_at")[:limit]
