"""The catalogue's one lock order, raced for real on PostgreSQL through the real services.

Paying an order bumps sales counts on its SKUs and products; checkout takes stock from
SKUs; staff edit SKUs then their product. If paying went through the order's lines in the
client's order ([sku 9, sku 4]) while a checkout took [4, 9] in id order, each could hold
the row the other waits for: PostgreSQL would kill one with a deadlock error. Every such
write goes through storefront.catalog.lock_objects (SKUs by id, then products by id).

The first test makes the dangerous interleaving happen on purpose: the payment is paused
right after its first SKU write until the checkout is blocked on a row lock, then resumed.
With lines bumped in client order it deadlocks every time; with the fixed order it cannot.
The second runs the services with random multi-line orders in opposite orders, many times.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest
from django.db import connection

from core.actors import Actor
from storefront.catalog import services as catalog_services
from storefront.catalog.models import Product, Sku
from storefront.orders.models import Order, OrderStatus
from storefront.orders.services import CheckoutItem, order_mark_paid, order_place
from tenants import services as tenant_services
from tests.conftest import OWNER_PASSWORD, ensure_default_plan
from tests.factories.catalog import ProductFactory, SkuFactory
from tests.factories.orders import ShippingTemplateFactory
from tests.factories.shoppers import AddressFactory
from tests.race import race, waits_on_a_lock

pytestmark = pytest.mark.usefixtures("committed_cleanup")


@pytest.fixture
def race_mall():
    """A committed mall with two products: A has SKUs a1 < a2, B has b1 (ids ascending in
    creation order), and a few shoppers with an address each."""
    ensure_default_plan()
    merchant = tenant_services.merchant_signup(
        name="Lock Mall", slug="lock-order", owner_email="o@example.com",
        password=OWNER_PASSWORD,
    ).merchant
    connection.set_tenant(merchant)
    ShippingTemplateFactory(default_fee_fen=0, free_above_fen=0)
    product_a, product_b = ProductFactory(), ProductFactory()
    skus = [
        SkuFactory(product=product_a, stock=10_000),
        SkuFactory(product=product_a, stock=10_000),
        SkuFactory(product=product_b, stock=10_000),
    ]
    shoppers = [AddressFactory().shopper for _ in range(6)]
    connection.set_schema_to_public()
    yield merchant, skus, shoppers
    connection.set_schema_to_public()


def _place(shopper, skus) -> Order:
    """An order whose lines come in exactly the given SKU order (the client's order)."""
    return order_place(
        shopper=shopper, items=[CheckoutItem(sku_id=sku.pk, quantity=1) for sku in skus],
        address_id=shopper.addresses.first().pk, clear_cart=False,
    )


def test_paying_never_deadlocks_with_a_checkout_taking_the_same_skus(race_mall):
    merchant, (low, high, _), shoppers = race_mall
    connection.set_tenant(merchant)
    order = _place(shoppers[0], [high, low])  # the client listed the higher id first
    connection.set_schema_to_public()

    checkout_may_start = threading.Event()
    checkout_pid: list[int] = []

    def pause_after_first_sku_write(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith('UPDATE "catalog_sku"') and not checkout_may_start.is_set():
            checkout_may_start.set()
            # Hold our first SKU row until the checkout waits on a row lock (or gives up).
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if checkout_pid and waits_on_a_lock(checkout_pid[0]):
                    break
                time.sleep(0.02)
        return result

    def pay():
        with connection.execute_wrapper(pause_after_first_sku_write):
            order_mark_paid(order=order, actor=Actor.system())

    def checkout():
        checkout_may_start.wait(10)
        checkout_pid.append(connection.connection.info.backend_pid)
        _place(shoppers[1], [low, high])

    result = race([pay, checkout], tenant=merchant)

    assert checkout_pid, "the checkout never started"
    assert [outcome.label for outcome in result.outcomes] == ["ok", "ok"]
    connection.set_tenant(merchant)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert Order.objects.count() == 2
    assert list(Sku.objects.order_by("pk").values_list("sales_count", flat=True)) == [1, 1, 0]
    assert Product.objects.get(pk=low.product_id).sales_count == 2


ROUNDS = 12


def test_payments_checkouts_and_staff_edits_in_any_order_never_deadlock(race_mall):
    """Many rounds of four writers at once on the same rows, each with random multi-line
    orders: two payments of orders whose lines are in opposite orders, a checkout, and staff
    repricing a SKU (SKU then product)."""
    merchant, skus, shoppers = race_mall
    rng = random.Random(20261205)  # noqa: S311 - reproducible shuffles, not secrets
    labels: Counter = Counter()
    paid = 0
    for round_number in range(ROUNDS):
        connection.set_tenant(merchant)
        lines = rng.sample(skus, k=3)
        orders = [_place(shoppers[0], lines), _place(shoppers[1], lines[::-1])]
        connection.set_schema_to_public()
        checkout_skus = rng.sample(skus, k=3)
        buyer = shoppers[2 + round_number % 4]
        labels += race([
            lambda o=orders[0]: order_mark_paid(order=o, actor=Actor.system()),
            lambda o=orders[1]: order_mark_paid(order=o, actor=Actor.system()),
            lambda b=buyer, k=checkout_skus: _place(b, k),
            lambda n=round_number: catalog_services.sku_update(
                product_id=skus[0].product_id, sku_id=skus[0].pk, price_fen=5000 + n
            ),
        ], tenant=merchant).labels()
        paid += 2

    assert labels == Counter({"ok": ROUNDS * 4})
    connection.set_tenant(merchant)
    assert Order.objects.filter(status=OrderStatus.PAID).count() == paid
    # Every paid unit was counted once on its SKU and once on its product.
    assert sum(Sku.objects.values_list("sales_count", flat=True)) == paid * 3
    assert sum(Product.objects.values_list("sales_count", flat=True)) == paid * 3
