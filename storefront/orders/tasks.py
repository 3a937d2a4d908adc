"""Order timers. Each task takes ids, runs in the mall's schema (tenant-schemas-celery),
and is safe to run twice or late."""

from celery import shared_task

from storefront.orders import services
from storefront.orders.selectors import (
    order_ids_due_for_completion,
    order_ids_due_for_receipt,
    order_ids_overdue_for_payment,
)

BATCH = 500


@shared_task(ignore_result=True, acks_late=True)
def cancel_unpaid_order(order_id: int) -> bool:
    """Queued at checkout with eta = the pay deadline."""
    return services.order_cancel_if_overdue(order_id=order_id)


@shared_task(ignore_result=True)
def sweep_order_timers() -> dict:
    """Runs every minute in every mall: catches what a lost eta task missed, receives
    shipped orders after N days and completes received ones when after-sales closes."""
    return {
        "cancelled": sum(
            services.order_cancel_if_overdue(order_id=order_id)
            for order_id in order_ids_overdue_for_payment(limit=BATCH)
        ),
        "received": sum(
            services.order_receive_if_due(order_id=order_id)
            for order_id in order_ids_due_for_receipt(limit=BATCH)
        ),
        "completed": sum(
            services.order_complete_if_due(order_id=order_id)
            for order_id in order_ids_due_for_completion(limit=BATCH)
        ),
    }
