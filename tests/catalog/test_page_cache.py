"""The storefront's page cache (storefront/web/page_cache.py): pages and API answers are
served from Redis, and every kind of change shoppers can see is visible on the very next
request, because PostgreSQL bumps the mall's catalog_version in the changing transaction.

Each test first requests the page (a miss that fills the cache), checks that the next
request is a hit, then changes the data through the product's own service and requests
again: without the version bump it would be a hit of the old page."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test import Client

from core.actors import Actor
from storefront.catalog import services
from storefront.catalog.models import Sku
from storefront.orders.services import CheckoutItem, order_cancel, order_place
from storefront.web.page_cache import HEADER
from tenants.models import Merchant
from tenants.services import merchant_profile_update
from tests.catalog.conftest import make_product
from tests.conftest import host_client
from tests.factories.catalog import image_upload
from tests.factories.orders import DiscountRuleFactory, ShippingTemplateFactory
from tests.factories.shoppers import AddressFactory
from tests.payments.conftest import redis_down

pytestmark = pytest.mark.django_db


def version(mall) -> int:
    return Merchant.objects.values_list("catalog_version", flat=True).get(pk=mall.pk)


def cached(client, path: str, **extra):
    """GET twice; the second must come from the cache. Returns the page's text."""
    first = client.get(path, **extra)
    assert first.status_code == 200, first.content[:300]
    second = client.get(path, **extra)
    assert second[HEADER] == "hit"
    assert second.content == first.content or b"csrfmiddlewaretoken" in first.content
    return second.content.decode()


def fresh(client, path: str, **extra):
    response = client.get(path, **extra)
    assert response[HEADER] == "miss", "the change did not reach the next request"
    return response


@pytest.fixture
def product(category):
    return make_product(category, title="碎花连衣裙", base_price_fen=9900)


@pytest.fixture
def buyer(mall):
    ShippingTemplateFactory(default_fee_fen=0, free_above_fen=0)
    return AddressFactory().shopper


def place(buyer, sku, quantity):
    return order_place(shopper=buyer, items=[CheckoutItem(sku_id=sku.pk, quantity=quantity)],
                       address_id=buyer.addresses.first().pk)


# --- what is cached, and for whom ---------------------------------------------------------


def test_a_hit_runs_no_query_of_the_mall(mall_client, product, django_assert_num_queries):
    cached(mall_client, f"/products/{product.pk}/")
    # Routing only: SET search_path and the host's domain lookup (which brings the version).
    with django_assert_num_queries(2):
        response = mall_client.get(f"/products/{product.pk}/")
    assert response[HEADER] == "hit"


def test_signed_in_shoppers_get_the_cached_page_with_their_own_csrf_token(
    mall, product, shopper_client
):
    anonymous = host_client(mall)
    page = cached(anonymous, f"/products/{product.pk}/")
    assert "page-cache-csrf" not in page
    shopper_client.handler.enforce_csrf_checks = True
    response = shopper_client.get(f"/products/{product.pk}/")
    assert response[HEADER] == "hit"
    token = response.content.decode().split('name="csrfmiddlewaretoken" value="')[1][:64]
    sku = product.skus.get()
    added = shopper_client.post("/cart/add/", {"sku_id": sku.pk, "quantity": 1,
                                               "csrfmiddlewaretoken": token})
    assert added.status_code == 302, added.content[:300]


def test_a_page_with_a_flash_message_is_rendered_for_its_visitor(mall, product, shopper_client):
    cached(shopper_client, f"/products/{product.pk}/")
    sku = product.skus.get()
    added = shopper_client.post("/cart/add/", {"sku_id": sku.pk, "quantity": 1,
                                               "next": f"/products/{product.pk}/"})
    assert added["Location"] == f"/products/{product.pk}/"
    response = shopper_client.get(f"/products/{product.pk}/")
    assert HEADER not in response
    assert "Added to your cart." in response.content.decode()
    # shown once; the next visit is the shared page again
    assert shopper_client.get(f"/products/{product.pk}/")[HEADER] == "hit"


def test_a_share_code_in_the_query_does_not_make_a_new_copy(mall_client, product):
    cached(mall_client, f"/products/{product.pk}/")
    assert mall_client.get(f"/products/{product.pk}/?ref=ABC123")[HEADER] == "hit"


def test_the_parameters_a_listing_reads_make_their_own_copies(mall_client, category, product):
    make_product(category, title="纯棉T恤", base_price_fen=100)
    by_price = cached(mall_client, f"/categories/{category.pk}/?sort=price_asc")
    assert mall_client.get(f"/categories/{category.pk}/")[HEADER] == "miss"
    assert by_price.index("纯棉T恤") < by_price.index("碎花连衣裙")


def test_two_malls_never_share_a_page(mall, make_merchant, category, product):
    page = cached(host_client(mall), "/")
    assert "碎花连衣裙" in page
    other = make_merchant(name="Other Mall").merchant
    connection.set_tenant(other)
    response = host_client(other).get("/")
    assert response[HEADER] == "miss"
    assert "碎花连衣裙" not in response.content.decode()


def test_a_browser_asking_the_api_for_html_never_changes_what_apps_get(
    mall, product, shopper_client
):
    """A signed-in shopper who opens the API in a browser (Accept: text/html) must not leave
    a page naming them in the cache, nor make JSON clients get HTML."""
    browser = shopper_client.get("/api/v1/products/", HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert browser.status_code == 200 and browser["Content-Type"] == "application/json"
    app = host_client(mall).get("/api/v1/products/", HTTP_ACCEPT="application/json")
    assert app["Content-Type"] == "application/json"
    assert app.json()["results"][0]["title"] == "碎花连衣裙"


def test_pages_for_a_404_are_not_kept(mall_client):
    for _ in range(2):
        response = mall_client.get("/products/999999/")
        assert response.status_code == 404 and HEADER not in response


# --- one test per cause of change ----------------------------------------------------------


def test_a_staff_edit_shows_at_once(mall_client, product):
    cached(mall_client, f"/products/{product.pk}/")
    services.product_update(product_id=product.pk, title="真丝连衣裙")
    assert "真丝连衣裙" in fresh(mall_client, f"/products/{product.pk}/").content.decode()


def test_a_price_change_shows_on_the_page_and_in_the_api(mall_client, product):
    cached(mall_client, f"/products/{product.pk}/")
    cached(mall_client, "/api/v1/products/")
    sku = product.skus.get()
    services.sku_update(product_id=product.pk, sku_id=sku.pk, price_fen=12345)
    assert "123.45" in fresh(mall_client, f"/products/{product.pk}/").content.decode()
    listing = fresh(mall_client, "/api/v1/products/").json()
    assert listing["results"][0]["min_price_fen"] == 12345


def test_off_the_shelf_and_back(mall_client, category, product):
    assert "碎花连衣裙" in cached(mall_client, f"/categories/{category.pk}/")
    services.product_set_shelf(product_id=product.pk, on_shelf=False)
    assert "碎花连衣裙" not in fresh(mall_client, f"/categories/{category.pk}/").content.decode()
    assert mall_client.get(f"/products/{product.pk}/").status_code == 404
    services.products_set_shelf(product_ids=[product.pk], on_shelf=True)
    assert "碎花连衣裙" in fresh(mall_client, f"/categories/{category.pk}/").content.decode()


def test_a_sku_selling_out_and_coming_back(mall, mall_client, product, buyer):
    sku = product.skus.get()
    Sku.objects.filter(pk=sku.pk).update(stock=2)
    cached(mall_client, f"/products/{product.pk}/")
    before = version(mall)
    place(buyer, sku, 1)  # still in stock: the version does not move, the page stays
    assert version(mall) == before
    assert mall_client.get(f"/products/{product.pk}/")[HEADER] == "hit"
    order = place(buyer, sku, 1)  # the last one: sold out
    assert fresh(mall_client, f"/products/{product.pk}/").context["can_buy"] is False
    # the shopper cancels: the stock comes back
    order_cancel(order=order, actor=Actor.shopper(buyer.pk), reason="changed my mind")
    assert fresh(mall_client, f"/products/{product.pk}/").context["can_buy"] is True


def test_a_restock_by_staff_shows_at_once(mall_client, product):
    sku = product.skus.get()
    services.sku_update(product_id=product.pk, sku_id=sku.pk, stock=0)
    cached(mall_client, f"/products/{product.pk}/")
    services.sku_update(product_id=product.pk, sku_id=sku.pk, stock=5)
    page = fresh(mall_client, f"/products/{product.pk}/")
    assert page.context["can_buy"] is True and page.context["single_sku"].stock == 5


def test_a_new_picture_shows_at_once(mall_client, product):
    cached(mall_client, f"/products/{product.pk}/")
    image = services.product_image_add(product_id=product.pk, upload=image_upload())
    assert image.image.name.split("/")[-1] in fresh(
        mall_client, f"/products/{product.pk}/").content.decode()


def test_banners_show_at_once(mall_client, product):
    cached(mall_client, "/")
    services.banner_create(title="双十二大促", image=image_upload(), product_id=product.pk)
    assert 'alt="双十二大促"' in fresh(mall_client, "/").content.decode()


def test_a_category_change_shows_at_once(mall_client, category, product):
    cached(mall_client, "/categories/")
    cached(mall_client, "/api/v1/categories/")
    services.category_update(category_id=category.pk, name="春装")
    assert "春装" in fresh(mall_client, "/categories/").content.decode()
    assert fresh(mall_client, "/api/v1/categories/").json()[0]["name"] == "春装"


def test_the_mall_settings_show_at_once(mall, mall_client, product):
    cached(mall_client, "/")
    merchant_profile_update(merchant_id=mall.pk, name="新名字商城", theme_colour="#123456")
    page = fresh(mall_client, "/").content.decode()
    assert "新名字商城" in page and "#123456" in page


def test_a_discount_rule_bumps_the_version(mall, mall_client, product):
    cached(mall_client, "/")
    before = version(mall)
    rule = DiscountRuleFactory(threshold_fen=19900, amount_off_fen=2000)
    assert version(mall) > before
    fresh(mall_client, "/")
    rule.is_active = False
    rule.save()
    fresh(mall_client, "/")


def test_sales_counts_alone_do_not_bump(mall, product):
    before = version(mall)
    product.skus.all().update(sales_count=5, stock=7)
    type(product).objects.filter(pk=product.pk).update(sales_count=5)
    assert version(mall) == before


def test_a_stale_save_of_the_mall_never_moves_the_version_back(mall, product):
    stale = Merchant.objects.get(pk=mall.pk)
    services.product_update(product_id=product.pk, title="新标题")
    bumped = version(mall)
    stale.save()  # every column, the old version among them
    assert version(mall) == bumped


# --- the API's conditional GET -------------------------------------------------------------


def test_the_api_answers_304_until_the_catalogue_changes(mall_client, product):
    first = mall_client.get(f"/api/v1/products/{product.pk}/")
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('W/"')
    again = mall_client.get(f"/api/v1/products/{product.pk}/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag and again.content == b""
    services.product_update(product_id=product.pk, subtitle="新款")
    changed = mall_client.get(f"/api/v1/products/{product.pk}/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert changed.json()["subtitle"] == "新款"


def test_the_api_counts_a_product_view_for_each_answer(mall_client, product, monkeypatch):
    recorded = []
    monkeypatch.setattr("storefront.web.funnel.funnel_record",
                        lambda **kwargs: recorded.append(kwargs["stages"]))
    for _ in range(2):
        assert mall_client.get(f"/api/v1/products/{product.pk}/").status_code == 200
    assert recorded == [["product_views"], ["product_views"]]


# --- committed: the production timing ------------------------------------------------------


def test_a_committed_change_is_seen_by_the_next_request(committed_cleanup, make_merchant):
    merchant = make_merchant(name="Committed Mall").merchant
    connection.set_tenant(merchant)
    category = services.category_create(name="鞋")
    product = make_product(category, title="跑鞋")
    client = Client(HTTP_HOST=merchant.primary_host.split(":")[0])
    assert "跑鞋" in cached(client, f"/products/{product.pk}/")
    services.product_update(product_id=product.pk, title="篮球鞋")
    assert "篮球鞋" in fresh(client, f"/products/{product.pk}/").content.decode()
    connection.set_schema_to_public()


def test_stock_counts_are_at_most_page_cache_seconds_old(mall_client, product, buyer, settings):
    settings.PAGE_CACHE_SECONDS = 1
    sku = product.skus.get()
    Sku.objects.filter(pk=sku.pk).update(stock=5)
    assert cached(mall_client, f"/api/v1/products/{product.pk}/")
    place(buyer, sku, 2)  # still in stock: no bump, the copy stands until it expires
    assert mall_client.get(f"/api/v1/products/{product.pk}/")[HEADER] == "hit"
    time.sleep(1.1)
    answer = fresh(mall_client, f"/api/v1/products/{product.pk}/").json()
    assert answer["matrix"]["skus"][0]["stock"] == 3


def test_with_redis_down_the_page_is_served_all_the_same(mall_client, product):
    """The embedded Redis is really stopped: the page is rendered as if there were no cache,
    never a 500, and the cache serves again once Redis is back."""
    path = f"/products/{product.pk}/"
    cached(mall_client, path)
    with redis_down():
        response = mall_client.get(path)
        assert response.status_code == 200 and HEADER not in response
        assert "碎花连衣裙" in response.content.decode()
    cached(mall_client, path)
