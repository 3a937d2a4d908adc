"""Row locks and row updates of the catalogue, always in one global order: SKUs by primary
key, then products by primary key. Checkout takes stock, cancellations and refunds give it
back, paying bumps sales counts, and staff edit SKUs then their product — all through the
helpers here, so no two transactions can wait on each other in a cycle (no deadlocks).

Stock moves are one conditional UPDATE per row, so stock can never go below zero (no
oversell) and a hot flash-sale row is held only from that UPDATE to the commit.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import F

from storefront.catalog.errors import ProductNotFound, SkuNotFound
from storefront.catalog.models import Category, Product, Sku


def product_lock(*, product_id: int) -> Product:
    """The product row alone, for changes that touch none of its SKUs."""
    product = Product.objects.select_for_update().filter(pk=product_id).first()
    if product is None:
        raise ProductNotFound()
    return product


def product_skus_lock(*, product_id: int) -> list[Sku]:
    return list(Sku.objects.select_for_update().filter(product_id=product_id).order_by("pk"))


def product_with_skus_lock(*, product_id: int) -> tuple[Product, list[Sku]]:
    """Every SKU of the product (by pk), then the product."""
    skus = product_skus_lock(product_id=product_id)
    return product_lock(product_id=product_id), skus


def sku_lock(*, product_id: int, sku_id: int) -> tuple[Product, Sku]:
    """One SKU, then its product. 404 for an unknown product or a SKU of another one."""
    sku = Sku.objects.select_for_update().filter(pk=sku_id, product_id=product_id).first()
    if sku is None:
        if not Product.objects.filter(pk=product_id).exists():
            raise ProductNotFound()
        raise SkuNotFound()
    return product_lock(product_id=product_id), sku


def category_lock(*, category_id: int) -> Category | None:
    return Category.objects.select_for_update().filter(pk=category_id).first()


def stock_reserve(quantities: Mapping[int, int]) -> int | None:
    """Take stock for every SKU ({sku_id: quantity}) or none; returns the first SKU id that
    lacked stock.

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


def stock_release(quantities: Mapping[int, int]) -> None:
    for sku_id in sorted(quantities):
        Sku.objects.filter(pk=sku_id).update(stock=F("stock") + quantities[sku_id])


def sales_count_add(quantities: Mapping[int, int]) -> None:
    """Count units sold ({sku_id: quantity}) on the SKUs, then on their products, each set in
    primary-key order whatever order the caller's lines came in."""
    product_units: dict[int, int] = {}
    for sku_id, product_id in Sku.objects.filter(pk__in=list(quantities)).values_list(
        "pk", "product_id"
    ):
        product_units[product_id] = product_units.get(product_id, 0) + quantities[sku_id]
    for sku_id in sorted(quantities):
        Sku.objects.filter(pk=sku_id).update(sales_count=F("sales_count") + quantities[sku_id])
    for product_id in sorted(product_units):
        Product.objects.filter(pk=product_id).update(
            sales_count=F("sales_count") + product_units[product_id]
        )
