"""Refused input: each answer is a 400 or 409 naming the field, and changes nothing."""

import pytest

from storefront.catalog import services
from storefront.catalog.models import Category, Product, Sku
from tests.catalog.conftest import catalog_state, make_product
from tests.factories.catalog import CategoryFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/console"


def _refused(response, status: int, code: str, fields: dict) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert (body["code"], body["fields"]) == (code, fields)


@pytest.fixture
def dress(category):
    return make_product(category, dimensions=[("颜色", ["红", "蓝"])])


def test_create_with_zero_price_is_refused(staff_client, category):
    before = catalog_state()
    response = staff_client.post(f"{API}/products/", {
        "title": "碎花连衣裙", "category_id": category.pk, "base_price_fen": 0,
    }, content_type="application/json")

    _refused(response, 400, "catalog_invalid",
             {"base_price_fen": ["The price must be at least 1 fen."]})
    assert catalog_state() == before


def test_create_with_several_bad_fields_names_each(staff_client, category):
    before = catalog_state()
    response = staff_client.post(f"{API}/products/", {
        "title": "  ", "category_id": 999999, "base_price_fen": 100, "initial_stock": -1,
        "dimensions": [{"name": "颜色", "values": ["红"]}],
    }, content_type="application/json")

    _refused(response, 400, "invalid", {"title": ["This field may not be blank."]})
    assert catalog_state() == before

    response = staff_client.post(f"{API}/products/", {
        "title": "连衣裙", "category_id": 999999, "base_price_fen": 100, "initial_stock": -1,
        "dimensions": [{"name": "颜色", "values": ["红", "红"]}, {"name": "颜色", "values": ["蓝"]},
                       {"name": "尺码", "values": []}],
    }, content_type="application/json")
    _refused(response, 400, "catalog_invalid", {
        "category_id": ["No such category."],
        "initial_stock": ["Stock cannot be negative."],
        "dimensions": ["Dimension 1: the value '红' is used twice.",
                       "Dimension 2: the name '颜色' is used twice.",
                       "Dimension 3: give at least one value."],
    })
    assert catalog_state() == before

    response = staff_client.post(f"{API}/products/", {
        "title": "连衣裙", "category_id": category.pk, "base_price_fen": 100,
        "dimensions": [{"name": "颜色", "values": ["红", 7]}, {"values": ["S"]}],
    }, content_type="application/json")
    _refused(response, 400, "invalid", {"dimensions": [
        'Dimension 1: give each value as text or as {"id", "value"}.',
        "Dimension 2: give a name and a list of values.",
    ]})
    assert catalog_state() == before


def test_more_than_three_dimensions_are_refused(category):
    before = catalog_state()
    with pytest.raises(services.CatalogInvalid) as refused:
        services.product_create(
            title="T恤", category_id=category.pk, base_price_fen=100,
            dimensions=[services.SpecDimensionInput(name=n, values=["a"])
                        for n in ("颜色", "尺码", "款式", "材质")],
        )
    assert refused.value.fields == {"dimensions": ["At most 3 spec dimensions."]}
    assert catalog_state() == before


def test_sku_price_and_stock_are_checked(staff_client, dress):
    sku = dress.skus.order_by("id").first()
    before = catalog_state()
    url = f"{API}/products/{dress.pk}/skus/{sku.pk}/"

    response = staff_client.patch(url, {"price_fen": 0, "stock": -5},
                                  content_type="application/json")
    _refused(response, 400, "catalog_invalid", {
        "price_fen": ["The price must be at least 1 fen."],
        "stock": ["Stock cannot be negative."],
    })
    response = staff_client.patch(url, {"price_fen": 100_000_000},
                                  content_type="application/json")
    _refused(response, 400, "catalog_invalid", {"price_fen": ["Must be at most 99999999."]})
    response = staff_client.patch(url, {"stock": "many"}, content_type="application/json")
    _refused(response, 400, "invalid", {"stock": ["A valid integer is required."]})
    assert catalog_state() == before


def test_sku_commission_rates_are_checked(staff_client, dress):
    sku = dress.skus.order_by("id").first()
    before = catalog_state()
    url = f"{API}/products/{dress.pk}/skus/{sku.pk}/"

    cases = [
        ({"commission_mode": "rates", "commission_rates_bp": []},
         {"commission_rates_bp": ["Give the rate of at least one tier."]}),
        ({"commission_mode": "rates", "commission_rates_bp": [1500, 10001]},
         {"commission_rates_bp": ["Each rate is whole basis points between 0 and 10000."]}),
        ({"commission_mode": "fixed", "commission_fixed_fen": 0},
         {"commission_fixed_fen": ["Must be at least 1."]}),
    ]
    for body, fields in cases:
        _refused(staff_client.patch(url, body, content_type="application/json"), 400,
                 "catalog_invalid", fields)
    _refused(staff_client.patch(url, {"commission_mode": "rates",
                                      "commission_rates_bp": [1, 2, 3, 4]},
                                content_type="application/json"),
             400, "catalog_invalid", {"commission_rates_bp": ["Give at most 3 tier rates."]})
    _refused(staff_client.patch(url, {"commission_mode": "rates",
                                      "commission_rates_bp": ["15%"]},
                                content_type="application/json"),
             400, "invalid", {"commission_rates_bp": ["Give a list of whole basis points."]})
    _refused(staff_client.patch(url, {"commission_rates_bp": [1500]},
                                content_type="application/json"),
             400, "invalid",
             {"commission_mode": ["Give the commission mode with its amount or rates."]})
    assert catalog_state() == before

    response = staff_client.patch(url, {"commission_mode": "rates",
                                        "commission_rates_bp": [1500, 500]},
                                  content_type="application/json")
    assert response.status_code == 200
    sku.refresh_from_db()
    assert (sku.commission_mode, sku.commission_rates_bp, sku.commission_fixed_fen) == (
        "rates", [1500, 500], 0)


def test_sku_of_another_product_is_not_found(staff_client, dress, category):
    other = make_product(category, title="衬衫")
    other_sku = other.skus.get()
    before = catalog_state()

    response = staff_client.patch(f"{API}/products/{dress.pk}/skus/{other_sku.pk}/",
                                  {"price_fen": 1}, content_type="application/json")

    _refused(response, 404, "sku_not_found", {})
    assert catalog_state() == before


def test_unknown_product_is_not_found(staff_client):
    _refused(staff_client.get(f"{API}/products/424242/"), 404, "product_not_found", {})
    _refused(staff_client.patch(f"{API}/products/424242/", {"title": "x"},
                                content_type="application/json"), 404, "product_not_found", {})


def test_three_category_levels_are_refused(staff_client):
    top = CategoryFactory(name="服装")
    child = CategoryFactory(name="女装", parent=top)
    before = catalog_state()

    response = staff_client.post(f"{API}/categories/", {"name": "连衣裙", "parent_id": child.pk},
                                 content_type="application/json")
    _refused(response, 400, "catalog_invalid",
             {"parent_id": ["Categories have two levels at most."]})
    # A top-level category with children cannot move under another one.
    other_top = CategoryFactory(name="鞋靴")
    before = catalog_state()
    response = staff_client.patch(f"{API}/categories/{top.pk}/", {"parent_id": other_top.pk},
                                  content_type="application/json")
    _refused(response, 400, "catalog_invalid", {
        "parent_id": ["This category has sub-categories, so it must stay top-level."]})
    response = staff_client.patch(f"{API}/categories/{other_top.pk}/",
                                  {"parent_id": other_top.pk}, content_type="application/json")
    _refused(response, 400, "catalog_invalid",
             {"parent_id": ["A category cannot be its own parent."]})
    assert catalog_state() == before


def test_a_category_with_products_or_children_cannot_be_deleted(staff_client, dress, category):
    top = CategoryFactory(name="服装")
    CategoryFactory(name="女装", parent=top)
    before = catalog_state()

    response = staff_client.delete(f"{API}/categories/{category.pk}/")
    _refused(response, 409, "category_in_use",
             {"category": ["The category still holds products."]})
    response = staff_client.delete(f"{API}/categories/{top.pk}/")
    _refused(response, 409, "category_in_use",
             {"category": ["The category still has sub-categories."]})
    assert catalog_state() == before

    empty = CategoryFactory(name="空")
    assert staff_client.delete(f"{API}/categories/{empty.pk}/").status_code == 204
    assert not Category.objects.filter(pk=empty.pk).exists()


def test_on_shelf_needs_an_active_sku(staff_client, category):
    product = make_product(category, on_shelf=False)
    Sku.objects.filter(product=product).update(is_active=False)
    before = catalog_state()

    response = staff_client.post(f"{API}/products/{product.pk}/shelf/", {"on_shelf": True},
                                 content_type="application/json")

    _refused(response, 409, "shelf_refused", {"on_shelf": ["The product has no active SKU."]})
    assert catalog_state() == before


def test_on_and_off_the_shelf(staff_client, category):
    product = make_product(category, on_shelf=False)

    response = staff_client.post(f"{API}/products/{product.pk}/shelf/", {"on_shelf": True},
                                 content_type="application/json")
    assert (response.status_code, response.json()) == (200, {"id": product.pk,
                                                              "is_on_shelf": True})
    response = staff_client.post(f"{API}/products/{product.pk}/shelf/", {"on_shelf": False},
                                 content_type="application/json")
    assert (response.status_code, response.json()) == (200, {"id": product.pk,
                                                              "is_on_shelf": False})
    response = staff_client.post(f"{API}/products/{product.pk}/shelf/", {},
                                 content_type="application/json")
    _refused(response, 400, "invalid", {"on_shelf": ["This field is required."]})
    assert Product.objects.get(pk=product.pk).is_on_shelf is False


def test_the_plan_limits_the_number_of_products(category, mall):
    mall.plan.max_products = 1
    mall.plan.save(update_fields=["max_products"])
    make_product(category)
    before = catalog_state()

    with pytest.raises(services.ProductLimitReached):
        services.product_create(title="第二件", category_id=category.pk, base_price_fen=100)

    assert catalog_state() == before


def test_a_banner_needs_a_real_product(staff_client):
    from tests.factories.catalog import image_upload

    before = catalog_state()
    response = staff_client.post(f"{API}/banners/", {
        "title": "夏季大促", "image": image_upload(), "product_id": 987654})
    _refused(response, 400, "catalog_invalid", {"product_id": ["No such product."]})
    assert catalog_state() == before
