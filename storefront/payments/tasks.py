"""Payment jobs; each runs in the mall's schema and is safe to repeat."""

import logging

from celery import shared_task

from core.errors import DomainError
from storefront.payments import (
    profit_sharing,
    reconciliation,
    refunds,
    selectors,
    services,
    transfers,
)
from storefront.payments.models import Refund, RefundStatus

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def query_late_payments() -> int:
    """Callbacks can be late or lost: ask WeChat about payments still pending after 1 min."""
    applied = 0
    for payment in selectors.payments_awaiting_callback():
        try:
            _, outcome = services.payment_query(payment=payment)
            applied += outcome == "applied"
        except DomainError as exc:
            logger.warning("query of %s failed: %s", payment.out_trade_no, exc.message)
    return applied


@shared_task(ignore_result=True)
def query_processing_refunds() -> int:
    done = 0
    for refund in Refund.objects.filter(status=RefundStatus.PROCESSING).select_related("payment"):
        try:
            _, outcome = refunds.refund_query(refund=refund)
            done += outcome == "applied"
        except DomainError as exc:
            logger.warning("refund query %s failed: %s", refund.out_refund_no, exc.message)
    return done


@shared_task(ignore_result=True, autoretry_for=(DomainError,), retry_backoff=30, max_retries=5)
def start_refund(after_sales_id: int) -> None:
    refunds.refund_start(after_sales_id=after_sales_id)


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
