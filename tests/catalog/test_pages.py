"""Shopper pages: they render, show the right goods, and run a fixed number of queries.

Routing a request costs 2 queries (`SET search_path` to public and the host's domain
lookup), and the first query in the mall's schema is preceded by one more `SET
search_path`; so a page that reads the database costs 3 plus its own queries."""

import json
import re

import pytest

from storefront.catalog import services
from storefront.catalog.models import Product
from tests.catalog.conftest import make_product
from tests.factories.catalog import BannerFactory, CategoryFactory, ProductImageFactory

pytestmark = pytest.mark.django_db

ROUTING_QUERIES = 3
# The mall's active 满减 rules, read once by every page that shows goods (promotion tags).
PROMOTIONS = 1


def _with_cover(product):
    image = ProductImageFactory(product=product)
    Product.objects.filter(pk=product.pk).update(cover=image)
    return product


@pytest.fixture
def shelf(category):
    """Five products with covers in a category tree, so N+1 queries would show."""
    child = CategoryFactory(name="连衣裙", parent=category)
    products = [
        _with_cover(make_product(child if i % 2 else category, title=f"碎花连衣裙 {i}",
                                 base_price_fen=1000 * (i + 1), sort_weight=i,
                                 dimensions=[("颜色", ["红", "蓝"])]))
        for i in range(5)
    ]
    return products


def _tile_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-product-id="(\d+)"', html)]


def test_home_shows_banners_categories_and_goods(mall_client, shelf, category,
                                                 django_assert_num_queries):
    BannerFactory(title="夏季大促", product=shelf[0])
    BannerFactory(title="新品上市")

    with django_assert_num_queries(ROUTING_QUERIES + 3 + PROMOTIONS):
        response = mall_client.get("/")

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["tab"] == "home"
    assert 'alt="夏季大促"' in html and 'alt="新品上市"' in html
    assert f'href="/products/{shelf[0].pk}/"' in html
    assert f'href="/categories/{category.pk}/"' in html
    assert _tile_ids(html) == [p.pk for p in reversed(shelf)]


def test_categories_page_shows_two_levels(mall_client, shelf, category,
                                          django_assert_num_queries):
    child = category.children.get()

    with django_assert_num_queries(ROUTING_QUERIES + 1):
        response = mall_client.get("/categories/")

    html = response.content.decode()
    assert (response.status_code, response.context["tab"]) == (200, "categories")
    assert f'href="/categories/{category.pk}/"' in html
    assert f'href="/categories/{child.pk}/"' in html


def test_category_listing_includes_children_and_sorts(mall_client, shelf, category,
                                                      django_assert_num_queries):
    with django_assert_num_queries(ROUTING_QUERIES + 2 + PROMOTIONS):
        response = mall_client.get(f"/categories/{category.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert _tile_ids(html) == [p.pk for p in reversed(shelf)]
    for sort in ("default", "sales", "price_asc", "price_desc", "newest"):
        assert f'href="?sort={sort}"' in html
    assert all(f'href="/products/{p.pk}/"' in html for p in shelf)

    with django_assert_num_queries(ROUTING_QUERIES + 2 + PROMOTIONS):
        response = mall_client.get(f"/categories/{category.pk}/?sort=price_asc")
    assert _tile_ids(response.content.decode()) == [p.pk for p in shelf]

    child = category.children.get()
    response = mall_client.get(f"/categories/{child.pk}/?sort=bogus&page=x")
    assert response.status_code == 200
    assert _tile_ids(response.content.decode()) == [shelf[3].pk, shelf[1].pk]


def test_category_listing_pages_without_counting(mall_client, category, monkeypatch):
    from storefront.web import catalog_views

    monkeypatch.setattr(catalog_views, "PAGE_SIZE", 2)
    products = [make_product(category, title=f"商品{i}", sort_weight=i) for i in range(3)]

    first = mall_client.get(f"/categories/{category.pk}/")
    second = mall_client.get(f"/categories/{category.pk}/?sort=default&page=2")

    assert _tile_ids(first.content.decode()) == [products[2].pk, products[1].pk]
    assert 'rel="next"' in first.content.decode()
    assert _tile_ids(second.content.decode()) == [products[0].pk]
    assert 'rel="next"' not in second.content.decode()


def test_unknown_or_hidden_category_is_a_404_page(mall_client, category):
    hidden = CategoryFactory(name="隐藏", is_active=False)
    for url in ("/categories/987654/", f"/categories/{hidden.pk}/"):
        response = mall_client.get(url)
        assert response.status_code == 404
        assert "storefront/catalog/not_found.html" in [t.name for t in response.templates]


def test_search_finds_chinese_keywords(mall_client, shelf, django_assert_num_queries):
    make_product(shelf[0].category, title="纯棉衬衫")

    with django_assert_num_queries(ROUTING_QUERIES + 1 + PROMOTIONS):
        response = mall_client.get("/search/", {"q": "碎花 连衣裙"})

    html = response.content.decode()
    assert response.status_code == 200
    assert _tile_ids(html) == [p.pk for p in reversed(shelf)]
    assert 'value="碎花 连衣裙"' in html  # the query stays in the search box
    assert "href=\"?q=%E7%A2%8E%E8%8A%B1%20%E8%BF%9E%E8%A1%A3%E8%A3%99&amp;sort=sales\"" in html


def test_search_empty_and_no_result_states(mall_client, shelf, django_assert_num_queries):
    with django_assert_num_queries(2):  # routing only: nothing to search for
        response = mall_client.get("/search/?q=++")
    html = response.content.decode()
    assert (response.status_code, _tile_ids(html)) == (200, [])
    assert 'empty-state search-empty"' in html

    with django_assert_num_queries(ROUTING_QUERIES + 1):
        response = mall_client.get("/search/", {"q": "毛衣"})
    html = response.content.decode()
    assert (response.status_code, _tile_ids(html)) == (200, [])
    assert 'empty-state search-no-results"' in html


def _matrix_from(html: str) -> dict:
    match = re.search(r'<script id="spec-matrix" type="application/json">(.*?)</script>', html)
    return json.loads(match.group(1))


def test_product_page_has_the_picker_matrix_and_the_buy_controls(
    mall_client, category, django_assert_num_queries
):
    product = make_product(category, title="碎花连衣裙", subtitle="夏季新款",
                           dimensions=[("颜色", ["红", "蓝"]), ("尺码", ["S", "M"])],
                           description_html="<p>面料：<strong>棉</strong></p>")
    _with_cover(product)
    ProductImageFactory(product=product)
    blue_m = product.skus.order_by("id").last()
    services.sku_update(product_id=product.pk, sku_id=blue_m.pk, stock=0, price_fen=12900)

    with django_assert_num_queries(ROUTING_QUERIES + 4 + PROMOTIONS):
        response = mall_client.get(f"/products/{product.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    matrix = _matrix_from(html)
    from storefront.catalog.selectors import product_detail

    assert matrix == product_detail(product_id=product.pk).matrix
    assert [sku["stock"] for sku in matrix["skus"]] == [10, 10, 10, 0]
    value_ids = [v["id"] for dim in matrix["dimensions"] for v in dim["values"]]
    assert re.findall(r'class="chip" data-dimension-index="\d" data-value-id="(\d+)"',
                      html) == [str(pk) for pk in value_ids]
    assert '<form method="post" action="/cart/add/" id="add-to-cart-form">' in html
    assert 'name="sku_id" id="sku-id" value=""' in html
    assert 'id="add-to-cart" style="margin-top:10px" disabled' in html
    assert '<form method="get" action="/checkout/" id="buy-now-form"' in html
    assert 'name="sku" id="buy-sku"' in html and 'name="quantity" id="buy-quantity"' in html
    assert 'id="buy-now" disabled' in html
    assert "<p>面料：<strong>棉</strong></p>" in html
    assert '¥</small>99.00 – 129.00' in html
    assert html.count("<img src=\"/media/") == 2  # the gallery


def test_a_product_without_specs_is_ready_to_buy(mall_client, category):
    product = make_product(category, title="保温杯", base_price_fen=4550)
    sku = product.skus.get()

    html = mall_client.get(f"/products/{product.pk}/").content.decode()

    assert f'name="sku_id" id="sku-id" value="{sku.pk}"' in html
    assert f'name="sku" id="buy-sku" value="{sku.pk}"' in html
    assert 'id="add-to-cart" style="margin-top:10px">' in html
    assert 'id="buy-now">' in html
    assert 'class="chip"' not in html
    assert _matrix_from(html)["skus"][0]["values"] == []


def test_an_off_shelf_or_unknown_product_is_a_404_page(mall_client, category,
                                                       django_assert_num_queries):
    off = make_product(category, on_shelf=False)
    with django_assert_num_queries(ROUTING_QUERIES + 1):
        response = mall_client.get(f"/products/{off.pk}/")
    assert response.status_code == 404
    assert "storefront/catalog/not_found.html" in [t.name for t in response.templates]
    assert mall_client.get("/products/999999/").status_code == 404


def test_another_malls_product_is_not_found_here(mall, mall_client, category, other_mall):
    from django.db import connection

    from tests.conftest import host_client

    connection.set_tenant(other_mall)
    theirs = make_product(CategoryFactory(name="他们的"), title="别家的裙子")
    assert host_client(other_mall).get(f"/products/{theirs.pk}/").status_code == 200
    connection.set_tenant(mall)

    assert Product.objects.filter(pk=theirs.pk).exists() is False
    assert mall_client.get(f"/products/{theirs.pk}/").status_code == 404
