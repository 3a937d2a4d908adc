"""product_list: what is for sale, search that works for Chinese, category trees, sorting."""

from datetime import timedelta

import pytest
from django.utils import timezone

from storefront.catalog import selectors, services
from storefront.catalog.errors import CatalogInvalid, CategoryNotFound
from storefront.catalog.models import Product, Sku
from tests.catalog.conftest import make_product
from tests.factories.catalog import CategoryFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mall")]


def _titles(products) -> list[str]:
    return [product.title for product in products]


def test_chinese_keyword_finds_a_substring_of_the_title(category):
    make_product(category, title="夏季新款碎花连衣裙")
    make_product(category, title="纯棉白衬衫")

    assert _titles(selectors.product_list(q="连衣裙")) == ["夏季新款碎花连衣裙"]
    assert _titles(selectors.product_list(q="碎花")) == ["夏季新款碎花连衣裙"]
    assert _titles(selectors.product_list(q="衬衫")) == ["纯棉白衬衫"]
    assert _titles(selectors.product_list(q="毛衣")) == []


def test_every_term_must_match(category):
    make_product(category, title="夏季新款碎花连衣裙")
    make_product(category, title="碎花衬衫")
    make_product(category, title="白色连衣裙")

    assert _titles(selectors.product_list(q="碎花 连衣裙")) == ["夏季新款碎花连衣裙"]
    assert _titles(selectors.product_list(q="  碎花   衬衫 ")) == ["碎花衬衫"]
    assert _titles(selectors.product_list(q="碎花 毛衣")) == []


def test_search_covers_subtitle_and_spec_values_and_ignores_case(category):
    make_product(category, title="Nike 跑鞋", subtitle="轻便透气",
                 dimensions=[("颜色", ["藏青", "White"])])
    make_product(category, title="帆布鞋")

    assert _titles(selectors.product_list(q="NIKE")) == ["Nike 跑鞋"]
    assert _titles(selectors.product_list(q="透气")) == ["Nike 跑鞋"]
    assert _titles(selectors.product_list(q="藏青")) == ["Nike 跑鞋"]
    assert _titles(selectors.product_list(q="white 鞋")) == ["Nike 跑鞋"]
    # LIKE wildcards in a keyword are literal characters.
    assert _titles(selectors.product_list(q="%")) == []
    assert _titles(selectors.product_list(q="_")) == []


def test_a_top_level_category_includes_its_children():
    clothes = CategoryFactory(name="服装")
    dresses = CategoryFactory(name="连衣裙", parent=clothes)
    shirts = CategoryFactory(name="衬衫", parent=clothes)
    shoes = CategoryFactory(name="鞋靴")
    make_product(clothes, title="服装礼盒", sort_weight=4)
    make_product(dresses, title="碎花连衣裙", sort_weight=3)
    make_product(shirts, title="白衬衫", sort_weight=2)
    make_product(shoes, title="跑鞋", sort_weight=1)

    assert _titles(selectors.product_list(category_id=clothes.pk)) == [
        "服装礼盒", "碎花连衣裙", "白衬衫"]
    assert _titles(selectors.product_list(category_id=dresses.pk)) == ["碎花连衣裙"]
    assert _titles(selectors.product_list(category_id=shoes.pk)) == ["跑鞋"]
    assert _titles(selectors.product_list(category_id=clothes.pk, q="衬衫")) == ["白衬衫"]


def test_every_sort_order(category):
    cheap = make_product(category, title="便宜", base_price_fen=1000, sort_weight=1)
    dear = make_product(category, title="昂贵", base_price_fen=90000, sort_weight=3)
    middle = make_product(category, title="中等", base_price_fen=5000, sort_weight=2)
    Product.objects.filter(pk=cheap.pk).update(sales_count=50)
    Product.objects.filter(pk=dear.pk).update(sales_count=10)
    Product.objects.filter(pk=middle.pk).update(sales_count=30)
    now = timezone.now()
    Product.objects.filter(pk=cheap.pk).update(created_at=now - timedelta(days=1))
    Product.objects.filter(pk=dear.pk).update(created_at=now - timedelta(days=3))
    Product.objects.filter(pk=middle.pk).update(created_at=now - timedelta(days=2))

    def order(sort):
        return _titles(selectors.product_list(sort=sort))

    assert order("default") == ["昂贵", "中等", "便宜"]
    assert order("sales") == ["便宜", "中等", "昂贵"]
    assert order("price_asc") == ["便宜", "中等", "昂贵"]
    assert order("price_desc") == ["昂贵", "中等", "便宜"]
    assert order("newest") == ["便宜", "中等", "昂贵"]
    with pytest.raises(CatalogInvalid) as refused:
        selectors.product_list(sort="cheapest")
    assert refused.value.fields == {
        "sort": ["Choose one of: default, sales, price_asc, price_desc, newest."]}


def test_only_products_on_the_shelf_with_an_active_sku_are_listed(category):
    make_product(category, title="在售")
    make_product(category, title="下架", on_shelf=False)
    inactive = make_product(category, title="无有效规格")
    # Bypass the service, which would take the product off the shelf itself.
    Sku.objects.filter(product=inactive).update(is_active=False)

    assert _titles(selectors.product_list()) == ["在售"]
    with pytest.raises(selectors.ProductNotFound):
        selectors.product_detail(product_id=inactive.pk)


def test_category_tree_has_two_levels_and_hides_inactive_branches():
    clothes = CategoryFactory(name="服装", sort_weight=2)
    CategoryFactory(name="连衣裙", parent=clothes, sort_weight=1)
    CategoryFactory(name="衬衫", parent=clothes, sort_weight=5)
    CategoryFactory(name="隐藏子类", parent=clothes, is_active=False)
    hidden = CategoryFactory(name="隐藏", is_active=False)
    CategoryFactory(name="隐藏的孩子", parent=hidden)
    CategoryFactory(name="鞋靴", sort_weight=1)

    tree = selectors.category_tree()

    assert [(node.name, [child.name for child in node.children]) for node in tree] == [
        ("服装", ["衬衫", "连衣裙"]), ("鞋靴", [])]
    with pytest.raises(CategoryNotFound):
        selectors.category_detail(category_id=hidden.pk)
    child_of_hidden = hidden.children.get()
    with pytest.raises(CategoryNotFound):
        selectors.category_detail(category_id=child_of_hidden.pk)


def test_home_sections_put_recommended_goods_first(category):
    make_product(category, title="普通", sort_weight=9)
    make_product(category, title="推荐", is_recommended=True)
    make_product(category, title="下架推荐", is_recommended=True, on_shelf=False)

    sections = selectors.home_sections()

    assert _titles(sections.products) == ["推荐", "普通"]
    assert [c.name for c in sections.categories] == ["女装"]


def test_product_detail_builds_the_picker_matrix(category):
    product = make_product(category, dimensions=[("颜色", ["红", "蓝"]), ("尺码", ["S"])],
                           market_price_fen=19900)
    red_s, blue_s = product.skus.order_by("id")
    services.sku_update(product_id=product.pk, sku_id=blue_s.pk, stock=0)
    color, size = product.dimensions.order_by("position")
    red, blue = color.values.order_by("position")
    small = size.values.get()

    detail = selectors.product_detail(product_id=product.pk)

    assert detail.matrix == {
        "dimensions": [
            {"id": color.pk, "name": "颜色",
             "values": [{"id": red.pk, "value": "红"}, {"id": blue.pk, "value": "蓝"}]},
            {"id": size.pk, "name": "尺码", "values": [{"id": small.pk, "value": "S"}]},
        ],
        "skus": [
            {"id": red_s.pk, "values": [red.pk, small.pk], "label": "颜色:红 / 尺码:S",
             "price_fen": 9900, "market_price_fen": 19900, "stock": 10, "image": None},
            {"id": blue_s.pk, "values": [blue.pk, small.pk], "label": "颜色:蓝 / 尺码:S",
             "price_fen": 9900, "market_price_fen": 19900, "stock": 0, "image": None},
        ],
    }
    assert detail.total_stock == 10
    assert detail.single_sku is None
