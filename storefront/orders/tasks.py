"""Order timers. Each task takes ids, runs in the mall's schema (tenant-schemas-celery),
and is safe to run twice or late. (Unpaid orders are cancelled by the payments app, which
closes their WeChat transactions first: storefront.payments.tasks.)"""

from celery import shared_task

from storefront.orders import services
from storefront.orders.selectors import order_ids_due_for_completion, order_ids_due_for_receipt

BATCH = 500


@shared_task(ignore_result=True)
def sweep_order_timers() -> dict:
    """Runs every minute in every mall: receives shipped orders after N days and completes
    received ones when after-sales closes."""
    return {
        "received": sum(
            services.order_receive_if_due(order_id=order_id)
            for order_id in order_ids_due_for_receipt(limit=BATCH)
        ),
        "completed": sum(
            services.order_complete_if_due(order_id=order_id)
            for order_id in order_ids_due_for_completion(limit=BATCH)
        ),
    }
