"""Row locks and stock moves, always in ascending SKU id order so no two checkouts can
wait on each other in a cycle (no deadlocks), and always as one conditional UPDATE per row
so stock can never go below zero (no oversell)."""

from __future__ import annotations

from django.db.models import F

from storefront.catalog.models import Sku
from storefront.orders.models import Order


def order_for_update(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


def stock_reserve(quantities: dict[int, int]) -> int | None:
    """Take stock for every SKU or none; returns the first SKU id that lacked stock.

    Must run inside a transaction: a shortfall on a later SKU is undone by the caller's
    rollback of the earlier decrements.
    """
    for sku_id in sorted(quantities):
        quantity = quantities[sku_id]
        taken = Sku.objects.filter(pk=sku_id, is_active=True, stock__gte=quantity).update(
            stock=F("stock") - quantity
        )
        if not taken:
            return sku_id
    return None


def stock_release(quantities: dict[int, int]) -> None:
    for sku_id in sorted(quantities):
        Sku.objects.filter(pk=sku_id).update(stock=F("stock") + quantities[sku_id])
