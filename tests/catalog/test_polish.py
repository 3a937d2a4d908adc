"""Shopper-visible polish of the catalogue pages: 满减 tags on tiles and the product page,
the product page's bottom bar with the spec sheet's controls, the categories icon grid,
and the illustrated empty states."""

import re

import pytest

from storefront.orders.models import DiscountRule
from tests.catalog.conftest import make_product
from tests.factories.catalog import CategoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(mall):
    return [
        DiscountRule.objects.create(name="大促", threshold_fen=19900, amount_off_fen=2000),
        DiscountRule.objects.create(name="小促", threshold_fen=9950, amount_off_fen=500),
        DiscountRule.objects.create(name="停用", threshold_fen=50000, amount_off_fen=9000,
                                    is_active=False),
    ]


def _tags(html: str) -> list[str]:
    return re.findall(r'<span class="promo-tag" title="[^"]*">([^<]*)</span>', html)


def test_active_discount_rules_show_as_tags_on_tiles_and_the_product_page(
    mall_client, category, rules
):
    product = make_product(category, title="保温杯")
    make_product(category, title="保温壶")

    for url in ("/", f"/categories/{category.pk}/", "/search/?q=保温"):
        html = mall_client.get(url).content.decode()
        # two tiles, each with the active rules, lowest threshold first; never the inactive one
        assert _tags(html) == ["Spend 99.5, 5 off", "Spend 199, 20 off"] * 2, url

    html = mall_client.get(f"/products/{product.pk}/").content.decode()
    assert 'id="promotions"' in html
    assert _tags(html) == ["Spend 99.5, 5 off", "Spend 199, 20 off"]

    # as a Chinese shopper reads them
    html = mall_client.get(f"/products/{product.pk}/",
                           HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert _tags(html) == ["满99.5减5", "满199减20"]


def test_no_rules_no_tags(mall_client, category):
    product = make_product(category, title="保温杯")
    assert 'class="promo-tag"' not in mall_client.get("/").content.decode()
    assert 'id="promotions"' not in mall_client.get(f"/products/{product.pk}/").content.decode()


def test_product_page_has_the_bottom_bar_and_the_sheet_controls(mall_client, category):
    product = make_product(category, title="碎花连衣裙", dimensions=[("颜色", ["红", "蓝"])])

    html = mall_client.get(f"/products/{product.pk}/").content.decode()

    bar = html[html.index('<nav class="action-bar"'):]
    bar = bar[:bar.index("</nav>")]
    assert 'href="/" id="bar-shop"' in bar
    assert 'href="/help/" id="bar-service"' in bar
    assert 'href="/cart/" id="bar-cart"' in bar
    # without script both buttons lead to the picker form on the page
    assert 'href="#spec-picker" id="bar-add-to-cart" data-open-sheet="cart">Add to cart' in bar
    assert 'href="#spec-picker" id="bar-buy-now" data-open-sheet="buy">Buy now' in bar
    assert "env(safe-area-inset-bottom)" in html
    assert 'class="tabbar"' not in html  # the bar replaces the tab bar here
    zh = mall_client.get(f"/products/{product.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    bar_zh = zh.content.decode().split('<nav class="action-bar"')[1].split("</nav>")[0]
    assert all(word in bar_zh for word in ("店铺", "客服", "购物车", "加入购物车", "立即购买"))
    assert 'id="sheet-backdrop" hidden' in html and 'id="quantity-more"' in html
    # the cart count comes from the cart API, never from this (cacheable) page
    assert 'id="cart-count" hidden></span>' in html and 'fetch("/api/v1/cart/"' in html


def test_a_sold_out_product_says_so_in_the_bar(mall_client, category):
    product = make_product(category, title="保温杯", initial_stock=0)

    html = mall_client.get(f"/products/{product.pk}/").content.decode()

    assert 'id="bar-sold-out"' in html and 'id="bar-buy-now"' not in html


def test_categories_page_is_an_icon_grid_with_initials(mall_client, category):
    category.icon = "categories/dress.png"
    category.save(update_fields=["icon"])
    plain = CategoryFactory(name="男装")
    CategoryFactory(name="衬衫", parent=plain)

    html = mall_client.get("/categories/").content.decode()

    assert re.search(r'<img src="/media/[^"]*categories/dress.png"', html)
    assert '<span class="category-initial" aria-hidden="true">衬</span>' in html
    assert html.count('class="category-cell"') == 2 + 1  # the two top-level ones, the child


@pytest.mark.parametrize("url, marker", [
    ("/search/?q=毛衣", "search-no-results"),
    ("/search/", "search-empty"),
    ("/categories/", "categories-empty"),
    ("/cart/", "cart-empty"),
])
def test_empty_pages_show_an_illustrated_state_with_a_way_on(mall_client, mall, url, marker):
    html = mall_client.get(url).content.decode()

    state = html[html.index(f"empty-state {marker}"):]
    state = state[:state.index("</section>")]
    assert "<svg" in state and 'class="button" href="' in state


def test_an_unknown_product_is_a_friendly_error_state(mall_client, mall):
    response = mall_client.get("/products/987654/")
    html = response.content.decode()
    assert response.status_code == 404
    assert 'class="card empty-state error not-found"' in html and "<svg" in html
