"""What the orders app does when other parts of the mall report something (DESIGN §5).

In-transaction subscribers: they run in the transaction of the change that published the
event, so the change and its consequences commit or roll back together."""

from __future__ import annotations

from core import events
from core.actors import Actor
from storefront.catalog import lock_objects as catalog_locks
from storefront.orders.after_sales import after_sales_mark_refunded
from storefront.orders.services import order_quantities


@events.subscriber("order.paid")
def count_units_sold(event: events.DomainEvent) -> None:
    """Sales counts of the SKUs and products, in the catalogue's lock order."""
    catalog_locks.sales_count_add(order_quantities(event.subject))


@events.subscriber("refund.succeeded")
def record_money_back(event: events.DomainEvent) -> None:
    """The payments app refunded an after-sales case: close the case, the lines, maybe the
    order. `after_sales_id` and `refund_id` are in the refund event's data."""
    after_sales_mark_refunded(
        request_id=event.data["after_sales_id"], actor=Actor.wechat(),
        reference=event.data.get("refund_id") or "",
    )
