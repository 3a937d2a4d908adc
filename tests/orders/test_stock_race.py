"""Real races on real PostgreSQL: 200 buyers for one SKU with 50 units, all at once, and
buyers of two SKUs locking them in opposite orders."""

from collections import Counter
from functools import partial

import pytest
from django.db import connection

from storefront.catalog.models import Sku
from storefront.orders.models import Order
from storefront.orders.services import CheckoutItem, order_place
from storefront.shoppers.models import Address, Shopper
from tenants import services as tenant_services
from tests.conftest import OWNER_PASSWORD, ensure_default_plan
from tests.factories.catalog import SkuFactory
from tests.race import race

pytestmark = pytest.mark.usefixtures("committed_cleanup")

BUYERS = 200
UNITS = 50


def _mall_with_buyers(slug: str, buyers: int, **sku_fields):
    """A committed mall with `buyers` shoppers, each with a default address, and SKUs made
    from `sku_fields` ({"name": {field: value}}). Leaves the connection on public."""
    ensure_default_plan()
    merchant = tenant_services.merchant_signup(
        name="Race Mall", slug=slug, owner_email="o@example.com", password=OWNER_PASSWORD
    ).merchant
    connection.set_tenant(merchant)
    skus = {name: SkuFactory(**fields) for name, fields in sku_fields.items()}
    shoppers = Shopper.objects.bulk_create(
        Shopper(phone=f"139{i:08d}", share_code=f"race{i}") for i in range(buyers)
    )
    addresses = Address.objects.bulk_create(
        Address(shopper=s, recipient="买家", phone="13900000000", province="浙江", city="杭州",
                detail="1号", is_default=True)
        for s in shoppers
    )
    connection.set_schema_to_public()
    return merchant, skus, list(zip(shoppers, addresses, strict=True))


def test_200_concurrent_buyers_for_50_units_give_exactly_50_orders():
    merchant, skus, buyers = _mall_with_buyers(
        "flash-sale", BUYERS, sku={"price_fen": 100, "stock": UNITS})
    item = CheckoutItem(sku_id=skus["sku"].pk, quantity=1)

    result = race(
        [partial(order_place, shopper=shopper, items=[item], address_id=address.pk)
         for shopper, address in buyers],
        tenant=merchant,
    )

    assert result.peak > UNITS  # more buyers than units were checking out at once
    assert result.labels() == Counter({"ok": UNITS, "out_of_stock": BUYERS - UNITS})
    connection.set_tenant(merchant)
    assert Sku.objects.get(pk=skus["sku"].pk).stock == 0
    assert Order.objects.count() == UNITS
    connection.set_schema_to_public()


def test_two_skus_in_opposite_order_never_deadlock():
    """Buyers of (A, B) and of (B, A) at once: locks are taken in id order, so all succeed."""
    merchant, skus, buyers = _mall_with_buyers(
        "pairs-race", 40, first={"stock": 1000}, second={"stock": 1000})
    first, second = skus["first"], skus["second"]

    result = race(
        [partial(order_place, shopper=shopper, address_id=address.pk,
                 items=[CheckoutItem(sku_id=sku.pk, quantity=3)
                        for sku in ((first, second) if index % 2 else (second, first))])
         for index, (shopper, address) in enumerate(buyers)],
        tenant=merchant,
    )

    assert result.peak > 1
    assert result.labels() == Counter({"ok": len(buyers)})
    connection.set_tenant(merchant)
    assert Sku.objects.get(pk=first.pk).stock == 1000 - 3 * len(buyers)
    assert Sku.objects.get(pk=second.pk).stock == 1000 - 3 * len(buyers)
    connection.set_schema_to_public()
