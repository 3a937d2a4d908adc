"""A real race on real PostgreSQL: 200 buyers, one SKU with 50 units, all at once."""

import threading
from collections import Counter

import pytest
from django.db import connection

from core.errors import DomainError
from storefront.catalog.models import Sku
from storefront.orders.models import Order
from storefront.orders.services import CheckoutItem, order_place
from storefront.shoppers.models import Address, Shopper
from tenants import services as tenant_services
from tests.conftest import OWNER_PASSWORD, ensure_default_plan
from tests.factories.catalog import SkuFactory

pytestmark = pytest.mark.usefixtures("committed_cleanup")

BUYERS = 200
UNITS = 50


def test_200_concurrent_buyers_for_50_units_give_exactly_50_orders():
    ensure_default_plan()
    merchant = tenant_services.merchant_signup(
        name="Flash Sale", slug="flash-sale", owner_email="o@example.com", password=OWNER_PASSWORD
    ).merchant
    connection.set_tenant(merchant)
    sku = SkuFactory(price_fen=100, stock=UNITS)
    shoppers = Shopper.objects.bulk_create(
        Shopper(phone=f"1390000{i:04d}", share_code=f"race{i}") for i in range(BUYERS)
    )
    addresses = Address.objects.bulk_create(
        Address(shopper=s, recipient="买家", phone="13900000000", province="浙江", city="杭州",
                detail="1号", is_default=True)
        for s in shoppers
    )
    connection.set_schema_to_public()

    barrier = threading.Barrier(BUYERS, timeout=60)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def buy(shopper, address):
        try:
            connection.set_tenant(merchant)
            barrier.wait()
            order_place(
                shopper=shopper, items=[CheckoutItem(sku_id=sku.pk, quantity=1)],
                address_id=address.pk,
            )
            outcome = "ordered"
        except DomainError as exc:
            outcome = exc.code
        except Exception as exc:  # a deadlock or anything else fails the test below
            outcome = f"error:{exc.__class__.__name__}:{exc}"
        finally:
            connection.close()
        with lock:
            outcomes[outcome] += 1

    threads = [
        threading.Thread(target=buy, args=(s, a)) for s, a in zip(shoppers, addresses, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes == Counter({"ordered": UNITS, "out_of_stock": BUYERS - UNITS})
    connection.set_tenant(merchant)
    assert Sku.objects.get(pk=sku.pk).stock == 0
    assert Order.objects.count() == UNITS
    connection.set_schema_to_public()


def test_two_skus_in_opposite_order_never_deadlock():
    """Buyers of (A, B) and of (B, A) at once: locks are taken in id order, so all succeed."""
    ensure_default_plan()
    merchant = tenant_services.merchant_signup(
        name="Pairs", slug="pairs-race", owner_email="o@example.com", password=OWNER_PASSWORD
    ).merchant
    connection.set_tenant(merchant)
    first, second = SkuFactory(stock=1000), SkuFactory(stock=1000)
    shoppers = Shopper.objects.bulk_create(
        Shopper(phone=f"1370000{i:04d}", share_code=f"pair{i}") for i in range(40)
    )
    addresses = Address.objects.bulk_create(
        Address(shopper=s, recipient="买家", phone="13900000000", province="浙江", city="杭州",
                detail="1号", is_default=True)
        for s in shoppers
    )
    connection.set_schema_to_public()
    barrier = threading.Barrier(len(shoppers), timeout=60)
    errors: list[str] = []

    def buy(index, shopper, address):
        pair = (first, second) if index % 2 else (second, first)
        try:
            connection.set_tenant(merchant)
            barrier.wait()
            order_place(
                shopper=shopper,
                items=[CheckoutItem(sku_id=s.pk, quantity=3) for s in pair],
                address_id=address.pk,
            )
        except Exception as exc:  # collected and asserted below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=buy, args=(i, s, a))
        for i, (s, a) in enumerate(zip(shoppers, addresses, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    connection.set_tenant(merchant)
    assert Sku.objects.get(pk=first.pk).stock == 1000 - 3 * len(shoppers)
    assert Sku.objects.get(pk=second.pk).stock == 1000 - 3 * len(shoppers)
    connection.set_schema_to_public()
