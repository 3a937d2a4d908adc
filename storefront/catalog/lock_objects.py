"""Row locks of the catalogue, always taken in one global order: SKUs by primary key, then
their product. Paying an order bumps SKU then product sales counts, and checkout locks
SKUs by primary key, so the order here is the same and no two transactions can deadlock."""

from __future__ import annotations

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
