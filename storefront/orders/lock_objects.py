"""Row locks of orders. Catalogue rows (stock, sales counts) are locked only through
storefront.catalog.lock_objects, which fixes the one global order."""

from __future__ import annotations

from storefront.orders.models import Order


def order_for_update(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)
