"""A real race on PostgreSQL: staff regenerating the matrix and repricing a SKU while
orders are paid for it. Everyone locks SKUs before their product, so nobody deadlocks and
the product's denormalised prices end up matching its SKUs."""

import threading

import pytest
from django.db import connection, transaction
from django.db.models import F, Max, Min

from core.errors import DomainError
from storefront.catalog import services
from storefront.catalog.models import Product, Sku
from tenants import services as tenant_services
from tests.conftest import OWNER_PASSWORD, ensure_default_plan
from tests.factories.catalog import CategoryFactory

pytestmark = pytest.mark.usefixtures("committed_cleanup")

ROUNDS = 4


def _pay_like_an_order(sku_id: int, product_id: int) -> None:
    """What paying an order does: bump the SKU's sales, then the product's."""
    with transaction.atomic():
        Sku.objects.filter(pk=sku_id).update(sales_count=F("sales_count") + 1)
        Product.objects.filter(pk=product_id).update(sales_count=F("sales_count") + 1)


def test_staff_edits_and_payments_on_one_product_never_deadlock():
    ensure_default_plan()
    merchant = tenant_services.merchant_signup(
        name="Race Mall", slug="catalog-race", owner_email="o@example.com",
        password=OWNER_PASSWORD,
    ).merchant
    connection.set_tenant(merchant)
    product = services.product_create(
        title="连衣裙", category_id=CategoryFactory().pk, base_price_fen=9900, initial_stock=5,
        dimensions=[services.SpecDimensionInput(name="颜色", values=["红", "蓝"])],
    )
    red = product.skus.order_by("id").first()
    connection.set_schema_to_public()

    outcomes: list[str] = []
    lock = threading.Lock()

    def run(barrier, job):
        try:
            connection.set_tenant(merchant)
            barrier.wait()
            job()
            outcome = "ok"
        except DomainError as exc:
            outcome = exc.code
        except Exception as exc:  # a deadlock fails the test below
            outcome = f"error:{exc.__class__.__name__}:{exc}"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    for round_number in range(ROUNDS):
        jobs = [
            lambda n=round_number: services.product_update(
                product_id=product.pk,
                dimensions=[services.SpecDimensionInput(name="颜色",
                                                        values=["红", "蓝", f"色{n}"])]),
            lambda n=round_number: services.sku_update(
                product_id=product.pk, sku_id=red.pk, price_fen=5000 + n),
            lambda: _pay_like_an_order(red.pk, product.pk),
            lambda: _pay_like_an_order(red.pk, product.pk),
        ]
        barrier = threading.Barrier(len(jobs), timeout=30)
        threads = [threading.Thread(target=run, args=(barrier, job)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert outcomes == ["ok"] * (ROUNDS * 4)
    connection.set_tenant(merchant)
    product.refresh_from_db()
    prices = Sku.objects.filter(product=product, is_active=True).aggregate(
        low=Min("price_fen"), high=Max("price_fen"))
    assert (product.min_price_fen, product.max_price_fen) == (prices["low"], prices["high"])
    assert (product.min_price_fen, product.max_price_fen) == (5000 + ROUNDS - 1, 9900)
    assert product.sales_count == ROUNDS * 2
    assert Sku.objects.get(pk=red.pk).sales_count == ROUNDS * 2
    # Each round's extra colour replaced the previous one: 红, 蓝 and the last are active.
    assert list(Sku.objects.filter(product=product, is_active=True).order_by("id")
                .values_list("spec_label", flat=True)) == [
        "颜色:红", "颜色:蓝", f"颜色:色{ROUNDS - 1}"]
    assert Sku.objects.filter(product=product).count() == 2 + ROUNDS
    connection.set_schema_to_public()
