"""The catalogue APIs: the shopper's read-only API, and the staff API tried as anonymous,
shopper, staff without and with the permission, and staff of another mall."""

import pytest

from storefront.catalog.models import Banner, Category, Product, ProductImage, Sku
from tests.catalog.conftest import catalog_state, make_product
from tests.factories.catalog import CategoryFactory, image_upload

pytestmark = pytest.mark.django_db

API = "/api/v1/console"


# --- shopper API --------------------------------------------------------------------------


def test_categories_api_gives_the_tree(mall_client, category):
    child = CategoryFactory(name="连衣裙", parent=category)
    CategoryFactory(name="隐藏", is_active=False)

    response = mall_client.get("/api/v1/categories/")

    assert response.status_code == 200
    assert response.json() == [{
        "id": category.pk, "name": "女装", "icon": None,
        "children": [{"id": child.pk, "name": "连衣裙", "icon": None}],
    }]


def test_products_api_filters_searches_sorts_and_pages(mall_client, category,
                                                       django_assert_num_queries):
    child = CategoryFactory(name="连衣裙", parent=category)
    dress = make_product(child, title="夏季新款碎花连衣裙", base_price_fen=15900,
                         dimensions=[("尺码", ["S", "M"])])
    shirt = make_product(category, title="碎花衬衫", base_price_fen=8900)
    make_product(CategoryFactory(name="鞋靴"), title="跑鞋", base_price_fen=29900)
    make_product(category, title="下架的裙子", on_shelf=False)

    with django_assert_num_queries(5):  # routing 3, count, page
        response = mall_client.get("/api/v1/products/",
                                   {"category": category.pk, "sort": "price_asc"})
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert body["results"] == [
        {"id": shirt.pk, "title": "碎花衬衫", "subtitle": "", "min_price_fen": 8900,
         "max_price_fen": 8900, "sales_count": 0, "cover": None},
        {"id": dress.pk, "title": "夏季新款碎花连衣裙", "subtitle": "", "min_price_fen": 15900,
         "max_price_fen": 15900, "sales_count": 0, "cover": None},
    ]
    ids = [r["id"] for r in mall_client.get("/api/v1/products/", {"q": "碎花 连衣裙"}).json()[
        "results"]]
    assert ids == [dress.pk]
    ids = [r["id"] for r in mall_client.get("/api/v1/products/",
                                            {"sort": "price_desc"}).json()["results"]]
    assert ids[0] != dress.pk and len(ids) == 3

    response = mall_client.get("/api/v1/products/", {"sort": "cheapest", "category": "x"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert sorted(response.json()["fields"]) == ["category", "sort"]


def test_product_api_gives_the_matrix(mall, mall_client, category):
    product = make_product(category, title="碎花连衣裙", dimensions=[("颜色", ["红"])],
                           market_price_fen=12900, description_html="<p>棉</p>")
    sku = product.skus.get()
    color = product.dimensions.get()
    red = color.values.get()

    response = mall_client.get(f"/api/v1/products/{product.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": product.pk, "title": "碎花连衣裙", "subtitle": "", "category_id": category.pk,
        "description_html": "<p>棉</p>", "min_price_fen": 9900, "max_price_fen": 9900,
        "sales_count": 0, "images": [],
        "matrix": {
            "dimensions": [{"id": color.pk, "name": "颜色",
                            "values": [{"id": red.pk, "value": "红"}]}],
            "skus": [{"id": sku.pk, "values": [red.pk], "label": "颜色:红", "price_fen": 9900,
                      "market_price_fen": 12900, "stock": 10, "image": None}],
        },
    }


def test_product_api_hides_goods_not_for_sale(mall_client, category):
    off = make_product(category, on_shelf=False)
    for product_id in (off.pk, 999999):
        response = mall_client.get(f"/api/v1/products/{product_id}/")
        assert response.status_code == 404
        assert response.json() == {"code": "product_not_found", "message": "Product not found.",
                                   "fields": {}}


def test_the_schema_documents_both_apis(mall_client):
    response = mall_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/categories/", "/api/v1/products/", "/api/v1/products/{product_id}/",
                 "/api/v1/console/products/", "/api/v1/console/products/{product_id}/images/",
                 "/api/v1/console/products/{product_id}/skus/{sku_id}/",
                 "/api/v1/console/products/{product_id}/shelf/", "/api/v1/console/banners/",
                 "/api/v1/console/categories/{category_id}/"):
        assert path in paths
    parameters = {p["name"] for p in paths["/api/v1/products/"]["get"]["parameters"]}
    assert parameters == {"category", "q", "sort", "page"}


# --- staff API: who may call it -----------------------------------------------------------


@pytest.fixture
def dress(category):
    return make_product(category, dimensions=[("颜色", ["红", "蓝"])])


def _writes(dress, category):
    sku = dress.skus.order_by("id").first()
    return [
        ("post", f"{API}/categories/", {"name": "新分类"}),
        ("patch", f"{API}/categories/{category.pk}/", {"name": "改名"}),
        ("delete", f"{API}/categories/{category.pk}/", None),
        ("post", f"{API}/products/", {"title": "新品", "category_id": category.pk,
                                      "base_price_fen": 100}),
        ("patch", f"{API}/products/{dress.pk}/", {"title": "改名"}),
        ("delete", f"{API}/products/{dress.pk}/", None),
        ("patch", f"{API}/products/{dress.pk}/skus/{sku.pk}/", {"price_fen": 1}),
        ("post", f"{API}/products/{dress.pk}/shelf/", {"on_shelf": False}),
        ("post", f"{API}/banners/", {"title": "横幅"}),
    ]


READS = [f"{API}/categories/", f"{API}/products/", f"{API}/banners/"]


def _call(client, method, url, body):
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body, content_type="application/json")


@pytest.mark.parametrize("who", ["anonymous", "shopper", "other_mall_staff"])
def test_outsiders_are_refused_everything(request, who, mall, dress, category):
    client = {
        "anonymous": lambda: request.getfixturevalue("mall_client"),
        "shopper": lambda: request.getfixturevalue("shopper_client"),
        "other_mall_staff": lambda: request.getfixturevalue("other_mall_staff_client"),
    }[who]()
    before = catalog_state()

    for url in READS + [f"{API}/products/{dress.pk}/"]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert response.json()["code"] == "not_authenticated"
    for method, url, body in _writes(dress, category):
        response = _call(client, method, url, body)
        assert response.status_code == 403, url
        assert response.json()["code"] == "not_authenticated"
    response = client.post(f"{API}/products/{dress.pk}/images/", {"image": image_upload()})
    assert response.status_code == 403

    assert catalog_state() == before


def test_staff_without_the_permission_may_only_read(clerk_client, dress, category):
    before = catalog_state()

    for url in READS + [f"{API}/products/{dress.pk}/"]:
        assert clerk_client.get(url).status_code == 200, url
    for method, url, body in _writes(dress, category):
        response = _call(clerk_client, method, url, body)
        assert response.status_code == 403, url
        assert response.json() == {"code": "permission_denied",
                                   "message": "You do not have permission to do this.",
                                   "fields": {}}
    response = clerk_client.post(f"{API}/products/{dress.pk}/images/", {"image": image_upload()})
    assert response.status_code == 403

    assert catalog_state() == before


def test_staff_with_the_permission_may_change_prices(mall, dress):
    from tests.catalog.conftest import _staff

    client = _staff(mall, email="pricing@example.com", permissions=["change_sku"])
    sku = dress.skus.order_by("id").first()

    response = client.patch(f"{API}/products/{dress.pk}/skus/{sku.pk}/", {"price_fen": 5000},
                            content_type="application/json")

    assert response.status_code == 200
    assert Sku.objects.get(pk=sku.pk).price_fen == 5000
    assert client.patch(f"{API}/products/{dress.pk}/", {"title": "x"},
                        content_type="application/json").status_code == 403


# --- staff API: the work itself -----------------------------------------------------------


def test_staff_build_a_product_from_scratch(staff_client, mall):
    response = staff_client.post(f"{API}/categories/", {"name": "服装", "sort_weight": 5},
                                 content_type="application/json")
    assert response.status_code == 201
    top = response.json()
    assert top == {"id": top["id"], "parent_id": None, "name": "服装", "icon": None,
                   "sort_weight": 5, "is_active": True}
    response = staff_client.post(f"{API}/categories/", {"name": "连衣裙", "parent_id": top["id"],
                                                        "icon": image_upload("icon.png",
                                                                             fmt="PNG")})
    assert response.status_code == 201
    child = response.json()
    assert child["parent_id"] == top["id"] and child["icon"].endswith(".jpg")

    response = staff_client.post(f"{API}/products/", {
        "title": "夏季新款碎花连衣裙", "subtitle": "显瘦", "category_id": child["id"],
        "base_price_fen": 15900, "market_price_fen": 19900, "initial_stock": 20,
        "commission_mode": "rates", "commission_rates_bp": [1500, 500],
        "dimensions": [{"name": "颜色", "values": ["红", "蓝"]},
                       {"name": "尺码", "values": ["S", "M"]}],
    }, content_type="application/json")
    assert response.status_code == 201, response.content
    product = response.json()
    assert (product["is_on_shelf"], product["min_price_fen"], product["max_price_fen"]) == (
        False, 15900, 15900)
    assert (product["commission_mode"], product["commission_rates_bp"]) == ("rates", [1500, 500])
    assert [sku["spec_label"] for sku in product["skus"]] == [
        "颜色:红 / 尺码:S", "颜色:红 / 尺码:M", "颜色:蓝 / 尺码:S", "颜色:蓝 / 尺码:M"]
    assert {(sku["price_fen"], sku["stock"], sku["is_active"]) for sku in product["skus"]} == {
        (15900, 20, True)}
    assert [(d["name"], [v["value"] for v in d["values"]]) for d in product["dimensions"]] == [
        ("颜色", ["红", "蓝"]), ("尺码", ["S", "M"])]
    pid = product["id"]

    response = staff_client.post(f"{API}/products/{pid}/images/", {"image": image_upload()})
    assert response.status_code == 201
    first_sku = product["skus"][0]["id"]
    response = staff_client.patch(f"{API}/products/{pid}/skus/{first_sku}/", {
        "price_fen": 14900, "stock": 3, "weight_g": 350, "barcode": "6901234567890",
        "market_price_fen": 0, "is_active": True,
    }, content_type="application/json")
    assert response.status_code == 200
    assert {k: response.json()[k] for k in ("price_fen", "stock", "weight_g", "barcode")} == {
        "price_fen": 14900, "stock": 3, "weight_g": 350, "barcode": "6901234567890"}

    response = staff_client.post(f"{API}/products/{pid}/shelf/", {"on_shelf": True},
                                 content_type="application/json")
    assert response.json() == {"id": pid, "is_on_shelf": True}

    color = product["dimensions"][0]
    response = staff_client.patch(f"{API}/products/{pid}/", {
        "base_price_fen": 16900,
        "dimensions": [{"id": color["id"], "name": "颜色",
                        "values": [{"id": color["values"][0]["id"], "value": "大红"}, "白"]},
                       {"name": "尺码", "values": ["M"]}],
    }, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    skus = {sku["spec_label"]: sku for sku in body["skus"]}
    assert sorted((label, s["price_fen"], s["is_active"]) for label, s in skus.items()) == sorted([
        # A vanished SKU keeps the label it was sold under.
        ("颜色:红 / 尺码:S", 14900, False), ("颜色:大红 / 尺码:M", 15900, True),
        ("颜色:蓝 / 尺码:S", 15900, False), ("颜色:蓝 / 尺码:M", 15900, False),
        ("颜色:白 / 尺码:M", 16900, True),
    ])
    assert body["matrix_change"] == {
        "kept": [skus["颜色:大红 / 尺码:M"]["id"]], "added": [skus["颜色:白 / 尺码:M"]["id"]],
        "deactivated": sorted([skus["颜色:红 / 尺码:S"]["id"], skus["颜色:蓝 / 尺码:S"]["id"],
                               skus["颜色:蓝 / 尺码:M"]["id"]]),
        "reactivated": []}
    assert (body["min_price_fen"], body["max_price_fen"]) == (15900, 16900)

    listing = staff_client.get(f"{API}/products/", {"q": "大红", "on_shelf": "true"}).json()
    assert [row["id"] for row in listing["results"]] == [pid]
    assert listing["results"][0]["cover"].endswith(".jpg")

    # The shopper sees it now.
    assert staff_client.get(f"/api/v1/products/{pid}/").status_code == 200


def test_staff_delete_a_product_nobody_ordered(staff_client, dress):
    response = staff_client.delete(f"{API}/products/{dress.pk}/")
    assert response.status_code == 204
    assert not Product.objects.filter(pk=dress.pk).exists()
    assert Sku.objects.filter(product_id=dress.pk).count() == 0
    assert staff_client.delete(f"{API}/products/{dress.pk}/").status_code == 404


def test_staff_manage_banners(staff_client, dress, mall):
    response = staff_client.post(f"{API}/banners/", {
        "title": "夏季大促", "image": image_upload("banner.png", fmt="PNG"),
        "product_id": dress.pk, "sort_weight": 3})
    assert response.status_code == 201, response.content
    banner = response.json()
    assert {k: banner[k] for k in ("title", "product_id", "sort_weight", "is_active")} == {
        "title": "夏季大促", "product_id": dress.pk, "sort_weight": 3, "is_active": True}
    assert banner["image"].endswith(".png")

    response = staff_client.patch(f"{API}/banners/{banner['id']}/",
                                  {"is_active": False, "product_id": None},
                                  content_type="application/json")
    assert response.status_code == 200
    assert (response.json()["is_active"], response.json()["product_id"]) == (False, None)
    assert staff_client.get(f"{API}/banners/").json()[0]["id"] == banner["id"]

    assert staff_client.delete(f"{API}/banners/{banner['id']}/").status_code == 204
    assert Banner.objects.count() == 0
    assert staff_client.delete(f"{API}/banners/{banner['id']}/").json()["code"] == (
        "banner_not_found")


def test_staff_image_delete(staff_client, dress):
    first = staff_client.post(f"{API}/products/{dress.pk}/images/",
                              {"image": image_upload()}).json()
    assert staff_client.delete(f"{API}/products/{dress.pk}/images/{first['id']}/"
                               ).status_code == 204
    assert ProductImage.objects.count() == 0
    assert Product.objects.get(pk=dress.pk).cover_id is None
    response = staff_client.delete(f"{API}/products/{dress.pk}/images/{first['id']}/")
    assert (response.status_code, response.json()["code"]) == (404, "image_not_found")


def test_staff_category_update(staff_client, category):
    response = staff_client.patch(f"{API}/categories/{category.pk}/",
                                  {"name": " 女士服装 ", "is_active": False},
                                  content_type="application/json")
    assert response.status_code == 200
    category.refresh_from_db()
    assert (category.name, category.is_active) == ("女士服装", False)
    assert staff_client.get(f"{API}/categories/{category.pk}/").json()["name"] == "女士服装"
    assert Category.objects.count() == 1


def test_staff_category_icon_is_replaced_and_cleared(staff_client, category, media_root, mall):
    response = staff_client.patch(
        f"{API}/categories/{category.pk}/",
        data=_multipart({"icon": image_upload("icon.webp", fmt="WEBP")}),
        content_type="multipart/form-data; boundary=BoUnDaRy",
    )
    assert response.status_code == 200, response.content
    category.refresh_from_db()
    assert category.icon.name.startswith("categories/") and category.icon.name.endswith(".jpg")
    assert (media_root / mall.schema_name / category.icon.name).exists()

    response = staff_client.patch(f"{API}/categories/{category.pk}/", {"icon": None},
                                  content_type="application/json")
    assert (response.status_code, response.json()["icon"]) == (200, None)

    response = staff_client.patch(
        f"{API}/categories/{category.pk}/",
        data=_multipart({"icon": image_upload("notes.txt", fmt="GIF")}),
        content_type="multipart/form-data; boundary=BoUnDaRy",
    )
    assert (response.status_code, response.json()["fields"]) == (
        400, {"icon": ["Upload a JPEG, PNG or WebP image."]})
    category.refresh_from_db()
    assert category.icon.name == ""


def _multipart(data: dict) -> bytes:
    from django.test.client import encode_multipart

    return encode_multipart("BoUnDaRy", data)
