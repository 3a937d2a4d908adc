"""Payment jobs; each runs in the mall's schema and is safe to repeat."""

import logging

from celery import shared_task
from django.utils import timezone

from core.errors import DomainError
from storefront.orders.selectors import order_ids_overdue_for_payment
from storefront.payments import (
    profit_sharing,
    reconciliation,
    refunds,
    selectors,
    services,
    transfers,
    wire,
)
from storefront.payments.errors import PaymentNotAllowed
from tenants import wechatpay_gateway

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def query_late_payments() -> int:
    """Callbacks can be late or lost: ask WeChat about payments still pending after 1 min.
    One past its expiry is closed instead (asked one last time first), so it stops being
    polled and can never be paid."""
    applied = 0
    now = timezone.now()
    for payment in selectors.payments_awaiting_callback():
        try:
            if payment.expires_at <= now:
                _, outcome = services.payment_close(payment=payment, reason="expired")
                applied += outcome in ("paid", "closed")
            else:
                _, outcome = services.payment_query(payment=payment)
                applied += outcome == "applied"
        except DomainError as exc:
            logger.warning("query of %s failed: %s", payment.out_trade_no, exc.message)
    return applied


@shared_task(ignore_result=True, acks_late=True)
def cancel_unpaid_order(order_id: int) -> bool:
    """Queued when an order is placed, with eta = its pay deadline (payments.subscribers)."""
    return services.order_cancel_if_overdue(order_id=order_id)


@shared_task(ignore_result=True)
def cancel_overdue_orders() -> int:
    """Every minute in every mall: what a lost timer missed."""
    return sum(
        services.order_cancel_if_overdue(order_id=order_id)
        for order_id in order_ids_overdue_for_payment(limit=500)
    )


@shared_task(ignore_result=True)
def query_processing_refunds() -> int:
    """Every 5 minutes: refunds WeChat has not finished are asked about (or sent again, if
    WeChat never acknowledged them), and approved cases whose refund never started (a lost
    or exhausted task) are started."""
    done = 0
    for refund in refunds.refunds_awaiting():
        try:
            _, outcome = refunds.refund_query(refund=refund)
            done += outcome in ("applied", "resent")
        except DomainError as exc:
            logger.warning("refund query %s failed: %s", refund.out_refund_no, exc.message)
    for case in refunds.cases_awaiting_refund():
        try:
            refunds.refund_start(after_sales_id=case.pk)
            done += 1
        except DomainError as exc:
            logger.warning("refund of case %s failed: %s", case.pk, exc.message)
    return done


def _send_with_retries(task, send) -> None:
    """Run a refund send; retry with backoff while WeChat's answer is unknown or an error
    of its own (network, 5xx). A refusal is final and already recorded (the refund became
    REFUSED and its case went back to staff); a refund not allowed is logged."""
    try:
        send()
    except wechatpay_gateway.WeChatPayError as exc:
        if wire.refused(exc):
            logger.warning("refund refused by WeChat: %s", exc.message)
            return
        raise task.retry(exc=exc, countdown=30 * 2 ** task.request.retries) from exc
    except PaymentNotAllowed as exc:
        logger.warning("refund not sent: %s", exc.message)


@shared_task(bind=True, ignore_result=True, max_retries=6)
def start_refund(self, after_sales_id: int) -> None:
    _send_with_retries(self, lambda: refunds.refund_start(after_sales_id=after_sales_id))


@shared_task(bind=True, ignore_result=True, max_retries=6)
def refund_unapplied_payment(self, payment_id: int) -> None:
    """Queued when a payment arrives for an order that no longer takes it."""
    _send_with_retries(self, lambda: refunds.refund_unapplied_payment(payment_id=payment_id))


@shared_task(ignore_result=True, autoretry_for=(DomainError,), retry_backoff=600, max_retries=6)
def reconcile_yesterday() -> int:
    return len(reconciliation.reconciliation_run(bill_date=reconciliation.yesterday_in_shanghai()))


@shared_task(ignore_result=True)
def query_processing_profit_shares() -> int:
    """Profit-sharing orders and returns still open at WeChat: ask for their state (those
    never acknowledged are sent again, with the same body)."""
    done = 0
    for share in selectors.profit_shares_awaiting():
        try:
            _, outcome = profit_sharing.profit_share_query(share=share)
            done += outcome == "applied"
        except DomainError as exc:
            logger.warning("profit share query %s failed: %s", share.out_order_no, exc.message)
    for share_return in selectors.share_returns_awaiting():
        try:
            _, outcome = profit_sharing.profit_share_return_query(share_return=share_return)
            done += outcome == "applied"
        except DomainError as exc:
            logger.warning("share return query %s failed: %s",
                           share_return.out_return_no, exc.message)
    return done


@shared_task(ignore_result=True)
def query_pending_transfers() -> int:
    """Transfers without a final state: callbacks can be late or lost."""
    done = 0
    for transfer in selectors.transfers_awaiting():
        try:
            _, outcome = transfers.transfer_query(transfer=transfer)
            done += outcome == "applied"
        except DomainError as exc:
            logger.warning("transfer query %s failed: %s", transfer.out_bill_no, exc.message)
    return done
