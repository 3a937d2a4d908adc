"""What the orders app does when other parts of the mall report something (DESIGN §5).

In-transaction subscribers: they run in the transaction of the change that published the
event, so the change and its consequences commit or roll back together."""

from __future__ import annotations

from core import events
from core.actors import Actor
from storefront.catalog import lock_objects as catalog_locks
from storefront.orders.after_sales import after_sales_mark_refunded, after_sales_refund_failed
from storefront.orders.services import order_quantities


@events.subscriber("order.paid")
def count_units_sold(event: events.DomainEvent) -> None:
    """Sales counts of the SKUs and products, in the catalogue's lock order."""
    catalog_locks.sales_count_add(order_quantities(event.subject))


@events.subscriber("refund.succeeded")
def record_money_back(event: events.DomainEvent) -> None:
    """The payments app refunded an after-sales case: close the case, the lines, maybe the
    order. (A refund without a case returned a payment that came after its order was
    cancelled: nothing of the order changes.)"""
    if event.data["after_sales_id"] is None:
        return
    after_sales_mark_refunded(
        request_id=event.data["after_sales_id"], actor=Actor.wechat(),
        reference=event.data.get("refund_id") or "",
    )


_FAILED_REFUND_REASONS = {
    "closed": "WeChat closed the refund: nothing was returned.",
    "abnormal": "WeChat could not pay the shopper's account back (ABNORMAL): settle it in "
                "the WeChat Pay merchant platform, or retry.",
    "refused": "WeChat refused the refund",
}


def _refund_failed(event: events.DomainEvent) -> None:
    """The refund of an after-sales case failed: the case goes back to staff, with why."""
    if event.data["after_sales_id"] is None:
        return
    refund = event.subject
    reason = _FAILED_REFUND_REASONS[event.data["to_status"]]
    if refund.last_error:
        reason = f"{reason}: {refund.last_error}" if reason.endswith("refund") else reason
    after_sales_refund_failed(
        request_id=event.data["after_sales_id"], reason=reason,
        reference=event.data.get("out_refund_no") or "",
    )


for _state in _FAILED_REFUND_REASONS:
    events.subscriber(f"refund.{_state}")(_refund_failed)
