"""The console's goods area (商品): who may open each page and endpoint, what the pages cost
in queries, what each action changes and audits, and what bad input gets back."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from core.actors import Actor
from merchant_console.exports import export_run
from merchant_console.models import AuditEntry, ExportJob
from merchant_console.roles import ROLE_PERMISSIONS
from storefront.catalog import services
from storefront.catalog.models import Banner, Category, Product, ProductImage, Sku
from tests.catalog.conftest import media_root, other_mall_staff_client  # noqa: F401
from tests.factories.catalog import (
    BannerFactory,
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    SkuFactory,
    image_upload,
)

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "operations", "finance", "customer_service"]


def allowed(role: str, permission: str) -> bool:
    return role == "owner" or permission in ROLE_PERMISSIONS[role]


@pytest.fixture
def goods(mall):
    """Two categories, four products with SKUs and images, a banner."""
    dresses = CategoryFactory(name="女装")
    shoes = CategoryFactory(name="鞋")
    products = []
    for number in range(4):
        product = ProductFactory(category=dresses if number % 2 else shoes,
                                 title=f"商品{number}", is_on_shelf=number < 2)
        SkuFactory(product=product, stock=number * 4)
        SkuFactory(product=product, stock=1)
        ProductImageFactory(product=product)
        products.append(product)
    banner = BannerFactory(product=products[0])
    return {"categories": [dresses, shoes], "products": products, "banner": banner}


def _editor_post(category, *, title="新品", dimensions=None, skus=None, **extra):
    dimensions = dimensions if dimensions is not None else [
        {"name": "颜色", "values": ["红", "蓝"]}, {"name": "尺码", "values": ["S", "M"]}]
    if skus is None:
        skus = [{"values": [colour, size], "price": "12.50", "stock": "3",
                 "commission_mode": "inherit"}
                for colour in ("红", "蓝") for size in ("S", "M")]
    return {"title": title, "category": str(category.pk), "base_price": "10",
            "commission_mode": "inherit", "description_html": "<p>好</p>",
            "matrix": json.dumps({"dimensions": dimensions, "skus": skus}), **extra}


# --- the permission matrix ----------------------------------------------------------------

PAGES = [
    ("/console/goods/", "catalog.view_product"),
    ("/console/goods/new/", "catalog.add_product"),
    ("/console/goods/{product}/", "catalog.view_product"),
    ("/console/goods/categories/", "catalog.view_category"),
    ("/console/goods/categories/{category}/", "catalog.view_category"),
    ("/console/goods/banners/", "catalog.view_banner"),
    ("/console/goods/banners/{banner}/", "catalog.view_banner"),
    ("/console/goods/transfer/", "catalog.view_product"),
    ("/console/goods/transfer/imports/{job}/", "catalog.view_product"),
    ("/console/exports/{export}/", "catalog.view_product"),
    ("/console/exports/{export}/download/", "catalog.view_product"),
]
ACTIONS = [  # POSTs refused before any input is read
    ("/console/goods/shelf/", "catalog.change_product"),
    ("/console/goods/{product}/images/", "catalog.change_product"),
    ("/console/goods/{product}/images/order/", "catalog.change_product"),
    ("/console/goods/{product}/images/{image}/delete/", "catalog.change_product"),
    ("/console/goods/categories/{category}/delete/", "catalog.delete_category"),
    ("/console/goods/banners/{banner}/delete/", "catalog.delete_banner"),
    ("/console/goods/transfer/export/", "catalog.view_product"),
]
API = [
    ("post", "/api/v1/console/products/shelf/", "catalog.change_product"),
    ("post", "/api/v1/console/products/{product}/images/order/", "catalog.change_product"),
    ("post", "/api/v1/console/goods/imports/", "catalog.add_product"),
    ("get", "/api/v1/console/goods/imports/{job}/", "catalog.view_product"),
    ("post", "/api/v1/console/goods/exports/", "catalog.view_product"),
    ("get", "/api/v1/console/goods/exports/{export}/", "catalog.view_product"),
]


@pytest.fixture
def ids(goods):
    from storefront.catalog.models import ImportJob

    job = ImportJob.objects.create(file_name="a.csv", file_format="csv", content=b"x",
                                   actor_kind="system")
    export = ExportJob.objects.create(kind="goods", file_format="csv", requested_by_id=1)
    export_run(job_id=export.pk)
    product = goods["products"][0]
    return {"product": product.pk, "category": goods["categories"][0].pk,
            "banner": goods["banner"].pk, "job": job.pk, "export": export.pk,
            "image": product.images.get().pk}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_exactly_the_goods_pages_its_permissions_allow(ids, staff_client, role):
    client = staff_client(role)
    for path, permission in PAGES:
        response = client.get(path.format(**ids))
        assert response.status_code == (200 if allowed(role, permission) else 403), path


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_post_goods_actions_only_with_their_permission(ids, staff_client, role):
    client = staff_client(role)
    for path, permission in ACTIONS:
        response = client.post(path.format(**ids), {})
        if allowed(role, permission):
            assert response.status_code in (200, 302), path
        else:
            assert response.status_code == 403, path
    response = client.post("/console/goods/new/", {})
    assert response.status_code == (400 if allowed(role, "catalog.add_product") else 403)
    response = client.post(f"/console/goods/{ids['product']}/", {})
    assert response.status_code == (400 if allowed(role, "catalog.change_product") else 403)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_call_the_goods_api_only_with_their_permission(ids, staff_client, role):
    client = staff_client(role)
    for method, path, permission in API:
        response = getattr(client, method)(path.format(**ids), {})
        if allowed(role, permission):
            assert response.status_code in (200, 202, 400), path
        else:
            assert response.status_code == 403, path


def test_anonymous_and_another_malls_staff_are_sent_to_sign_in(ids, mall_client, request):
    for client in (mall_client, request.getfixturevalue("other_mall_staff_client")):
        for path, _ in PAGES:
            response = client.get(path.format(**ids))
            assert response.status_code == 302, path
            assert response["Location"].startswith("/console/login/")
        for path, _ in ACTIONS:
            response = client.post(path.format(**ids))
            assert response.status_code == 302, path
            assert response["Location"].startswith("/console/login/")
        for method, path, _ in API:
            assert getattr(client, method)(path.format(**ids)).status_code == 403, path


# --- pinned query counts ------------------------------------------------------------------


@pytest.mark.parametrize(("path", "queries"), [
    # Nine of each are the request's own (session, staff user, permissions, the mall).
    ("/console/goods/", 12),
    ("/console/goods/?q=商品&shelf=on&stock=low&category={category}", 12),
    ("/console/goods/new/", 10),
    ("/console/goods/{product}/", 14),
    ("/console/goods/categories/", 10),
    ("/console/goods/banners/", 11),
    ("/console/goods/transfer/", 10),
    ("/console/exports/{export}/", 10),
])
def test_goods_pages_cost_a_fixed_number_of_queries(ids, staff_client,
                                                    django_assert_num_queries, path, queries):
    client = staff_client("operations")
    for number in range(5):  # more rows: an N+1 would show
        product = ProductFactory(category_id=ids["category"], title=f"多{number}")
        SkuFactory(product=product)
        ProductImageFactory(product=product)
        BannerFactory(product=product)
        CategoryFactory(parent_id=ids["category"])
    client.get("/console/goods/")  # the session and permissions are cached from here
    with django_assert_num_queries(queries):
        response = client.get(path.format(**ids))
    assert response.status_code == 200


# --- the goods list and bulk shelf --------------------------------------------------------


def test_the_list_filters_by_category_shelf_stock_and_name(goods, staff_client):
    client = staff_client("operations")
    shown = lambda query: {row.pk for row in client.get(  # noqa: E731
        f"/console/goods/?{query}").context["page"]}
    p0, p1, p2, p3 = (product.pk for product in goods["products"])
    assert shown("") == {p0, p1, p2, p3}
    assert shown(f"category={goods['categories'][0].pk}") == {p1, p3}
    assert shown("shelf=on") == {p0, p1}
    assert shown("shelf=off") == {p2, p3}
    assert shown("stock=low") == {p0, p1, p2}  # totals 1, 5, 9 (not 13)
    Sku.objects.filter(product_id=p0).update(stock=0)
    assert shown("stock=out") == {p0}
    assert shown("q=商品3") == {p3}
    assert shown("stock=bogus&shelf=bogus") == {p0, p1, p2, p3}


def test_bulk_shelf_changes_every_selected_product_and_audits_it(goods, staff_client):
    client = staff_client("operations")
    p2, p3 = goods["products"][2], goods["products"][3]
    response = client.post("/console/goods/shelf/", {"product": [p2.pk, p3.pk], "action": "on",
                                                     "next": "/console/goods/?shelf=off"})
    assert response.status_code == 302 and response["Location"] == "/console/goods/?shelf=off"
    assert set(Product.objects.filter(is_on_shelf=True).values_list("pk", flat=True)) == {
        product.pk for product in goods["products"]}
    entry = AuditEntry.objects.get(action="product.shelf_on")
    assert entry.area == "goods" and entry.actor_id == client.user.pk
    assert entry.detail == {"products": sorted([p2.pk, p3.pk])}


def test_a_bulk_shelf_with_one_refused_product_changes_none(goods, staff_client):
    client = staff_client("operations")
    p2, p3 = goods["products"][2], goods["products"][3]
    Sku.objects.filter(product=p3).update(is_active=False)
    response = client.post("/console/goods/shelf/", {"product": [p2.pk, p3.pk], "action": "on"},
                           follow=True)
    assert "商品3" in response.content.decode()
    assert not Product.objects.filter(pk__in=[p2.pk, p3.pk], is_on_shelf=True).exists()
    assert not AuditEntry.objects.exists()
    response = client.post("/console/goods/shelf/", {"action": "on"}, follow=True)
    assert "Select at least one product." in response.content.decode()


def test_bulk_shelf_through_the_api(goods, staff_client):
    client = staff_client("admin")
    p2 = goods["products"][2]
    response = client.post("/api/v1/console/products/shelf/",
                           {"product_ids": [p2.pk], "on_shelf": True},
                           content_type="application/json")
    assert response.status_code == 200
    assert response.json() == [{"id": p2.pk, "is_on_shelf": True}]
    assert AuditEntry.objects.filter(action="product.shelf_on", target=str(p2.pk)).exists()
    response = client.post("/api/v1/console/products/shelf/",
                           {"product_ids": [999999], "on_shelf": True},
                           content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "catalog_invalid"


# --- the product editor -------------------------------------------------------------------


def test_the_editor_creates_a_product_with_its_spec_matrix_in_one_audited_save(
        goods, staff_client):
    client = staff_client("operations")
    category = goods["categories"][0]
    skus = [{"values": [colour, size], "price": price, "stock": stock,
             "commission_mode": mode, "commission_fixed": fixed, "commission_rates": rates}
            for (colour, size), price, stock, mode, fixed, rates in [
                (("红", "S"), "12.50", "3", "inherit", "", ""),
                (("红", "M"), "13", "4", "fixed", "1.20", ""),
                (("蓝", "S"), "14", "0", "rates", "", "10, 5.5"),
                (("蓝", "M"), "15", "9", "none", "", "")]]
    response = client.post("/console/goods/new/", _editor_post(
        category, skus=skus, on_shelf="on", commission_mode="rates", commission_rates="8",
        description_html='<p onclick="x()">好<script>alert(1)</script></p>'))
    product = Product.objects.get(title="新品")
    assert response.status_code == 302
    assert response["Location"] == f"/console/goods/{product.pk}/"
    assert product.is_on_shelf and product.commission_rates_bp == [800]
    assert product.description_html == "<p>好</p>"
    cells = {sku.spec_label: (sku.price_fen, sku.stock, sku.commission_mode,
                              sku.commission_fixed_fen, sku.commission_rates_bp)
             for sku in product.skus.all()}
    assert cells == {
        "颜色:红 / 尺码:S": (1250, 3, "inherit", 0, []),
        "颜色:红 / 尺码:M": (1300, 4, "fixed", 120, []),
        "颜色:蓝 / 尺码:S": (1400, 0, "rates", 0, [1000, 550]),
        "颜色:蓝 / 尺码:M": (1500, 9, "none", 0, []),
    }
    assert (product.min_price_fen, product.max_price_fen) == (1250, 1500)
    entry = AuditEntry.objects.get()
    assert (entry.area, entry.action, entry.target) == ("goods", "product.create",
                                                        str(product.pk))


def test_editing_keeps_the_values_of_remaining_combinations(goods, staff_client):
    client = staff_client("operations")
    category = goods["categories"][0]
    client.post("/console/goods/new/", _editor_post(category))
    product = Product.objects.get(title="新品")
    red_s = product.skus.get(spec_label="颜色:红 / 尺码:S")
    # 蓝 goes, 绿 comes; the page keeps what was typed for 红 (the server is sent it back).
    dims = [{"name": "颜色", "values": ["红", "绿"]}, {"name": "尺码", "values": ["S", "M"]}]
    skus = [{"values": ["红", "S"], "price": "20", "stock": "7"},
            {"values": ["红", "M"], "price": "12.50", "stock": "3"},
            {"values": ["绿", "S"], "price": "11", "stock": "1"},
            {"values": ["绿", "M"], "price": "11", "stock": "1"}]
    response = client.post(f"/console/goods/{product.pk}/",
                           _editor_post(category, title="新品二", dimensions=dims, skus=skus))
    assert response.status_code == 302
    red_s.refresh_from_db()
    assert (red_s.price_fen, red_s.stock, red_s.is_active) == (2000, 7, True)
    active = set(product.skus.filter(is_active=True).values_list("spec_label", flat=True))
    assert active == {"颜色:红 / 尺码:S", "颜色:红 / 尺码:M", "颜色:绿 / 尺码:S",
                      "颜色:绿 / 尺码:M"}
    assert product.skus.filter(is_active=False).count() == 2  # the blue ones, kept for orders
    assert AuditEntry.objects.filter(action="product.update", target=str(product.pk)).exists()


@pytest.mark.parametrize(("change", "message"), [
    ({"title": ""}, "This field is required."),
    ({"category": "999999"}, "category"),
    ({"base_price": "abc"}, "is not an amount in yuan"),
    ({"matrix": "not json"}, "could not be read"),
    ({"commission_mode": "fixed", "commission_fixed": ""}, "fixed amount"),
    ({"commission_mode": "rates", "commission_rates": "10, x"}, "is not a percentage"),
    ({"matrix": json.dumps({"dimensions": [{"name": "颜色", "values": ["红", "红"]}],
                            "skus": [{"values": ["红"], "price": "1", "stock": "1"}]})},
     "used twice"),
    ({"matrix": json.dumps({"dimensions": [], "skus": [{"values": [], "price": "-1",
                                                        "stock": "1"}]})},
     "is not an amount in yuan"),
    ({"matrix": json.dumps({"dimensions": [], "skus": [{"values": [], "price": "1",
                                                        "stock": "-3"}]})},
     "Stock cannot be negative."),
    ({"matrix": json.dumps({"dimensions": [], "skus": []})}, "at least one SKU"),
])
def test_bad_editor_input_is_refused_with_its_reason_and_changes_nothing(
        goods, staff_client, change, message):
    client = staff_client("operations")
    before = Product.objects.count()
    response = client.post("/console/goods/new/", {**_editor_post(goods["categories"][0]),
                                                   **change})
    assert response.status_code == 400
    assert message.lower() in response.content.decode().lower()
    assert Product.objects.count() == before and not AuditEntry.objects.exists()


def test_the_editor_shows_the_product_as_it_is(goods, staff_client):
    product = services.product_create(
        title="衬衫", category_id=goods["categories"][0].pk, base_price_fen=9900,
        dimensions=[services.SpecDimensionInput(name="颜色", values=["红", "蓝"])])
    response = staff_client("customer_service").get(f"/console/goods/{product.pk}/")
    state = response.context["state"]
    assert state["dimensions"] == [{"name": "颜色", "values": ["红", "蓝"]}]
    assert [(sku["values"], sku["price"]) for sku in state["skus"]] == [
        (["红"], "99.00"), (["蓝"], "99.00")]
    assert 'id="save-product"' not in response.content.decode()  # may look, not save


# --- the gallery --------------------------------------------------------------------------


def test_gallery_upload_reorder_and_delete_are_audited(goods, staff_client):
    client = staff_client("operations")
    product = goods["products"][0]
    first = product.images.get()
    response = client.post(f"/console/goods/{product.pk}/images/",
                           {"image": image_upload()}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    second = product.images.exclude(pk=first.pk).get()
    assert second.thumbnail.name.startswith("products/thumbs/")
    response = client.post(f"/console/goods/{product.pk}/images/order/",
                           {"image": [second.pk, first.pk]}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    product.refresh_from_db()
    assert product.cover_id == second.pk
    assert list(product.images.values_list("pk", flat=True)) == [second.pk, first.pk]
    response = client.post(f"/console/goods/{product.pk}/images/{first.pk}/delete/")
    assert response.status_code == 302
    assert list(product.images.values_list("pk", flat=True)) == [second.pk]
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "product.image_add", "product.images_reorder", "product.image_delete"]


def test_bad_gallery_input_is_refused(goods, staff_client):
    client = staff_client("operations")
    product = goods["products"][0]
    fake = SimpleUploadedFile("x.jpg", b"not an image at all", content_type="image/jpeg")
    response = client.post(f"/console/goods/{product.pk}/images/", {"image": fake},
                           HTTP_HX_REQUEST="true")
    assert "not a valid JPEG, PNG or WebP image" in response.content.decode()
    response = client.post(f"/console/goods/{product.pk}/images/order/", {"image": [1, 2]},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert product.images.count() == 1 and not AuditEntry.objects.exists()
    response = client.post("/api/v1/console/products/999999/images/order/",
                           {"image_ids": []}, content_type="application/json")
    assert response.status_code == 404


# --- categories and banners ---------------------------------------------------------------


def test_categories_are_created_edited_ordered_hidden_and_deleted(goods, staff_client):
    client = staff_client("operations")
    response = client.post("/console/goods/categories/", {"name": "童装", "sort_weight": "5",
                                                          "is_active": "on"})
    assert response.status_code == 302
    category = Category.objects.get(name="童装")
    assert (category.sort_weight, category.is_active) == (5, True)
    parent = goods["categories"][0]
    client.post(f"/console/goods/categories/{category.pk}/",
                {"name": "童装新", "sort_weight": "9", "parent": str(parent.pk)})
    category.refresh_from_db()
    assert (category.name, category.sort_weight, category.is_active, category.parent_id) == (
        "童装新", 9, False, parent.pk)
    client.post(f"/console/goods/categories/{category.pk}/delete/")
    assert not Category.objects.filter(pk=category.pk).exists()
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "category.create", "category.update", "category.delete"]


def test_bad_category_input_is_refused(goods, staff_client):
    client = staff_client("operations")
    response = client.post("/console/goods/categories/", {"name": "", "sort_weight": "x"},
                           follow=True)
    assert "not a whole number" in response.content.decode()
    response = client.post("/console/goods/categories/", {"name": ""}, follow=True)
    assert "This field is required." in response.content.decode()
    in_use = goods["categories"][0]
    response = client.post(f"/console/goods/categories/{in_use.pk}/delete/", follow=True)
    assert "products first" in response.content.decode()
    assert Category.objects.count() == 2 and not AuditEntry.objects.exists()


def test_banners_are_created_edited_and_deleted(goods, staff_client):
    client = staff_client("operations")
    product = goods["products"][1]
    response = client.post("/console/goods/banners/", {
        "title": "双十一", "image": image_upload(), "product": str(product.pk),
        "sort_weight": "3", "is_active": "on"})
    assert response.status_code == 302
    banner = Banner.objects.get(title="双十一")
    assert (banner.product_id, banner.sort_weight, banner.is_active) == (product.pk, 3, True)
    client.post(f"/console/goods/banners/{banner.pk}/", {"title": "双十二", "sort_weight": "1"})
    banner.refresh_from_db()
    assert (banner.title, banner.sort_weight, banner.is_active, banner.product_id) == (
        "双十二", 1, False, None)
    client.post(f"/console/goods/banners/{banner.pk}/delete/")
    assert not Banner.objects.filter(pk=banner.pk).exists()
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "banner.create", "banner.update", "banner.delete"]


def test_a_banner_without_a_picture_is_refused(goods, staff_client):
    response = staff_client("operations").post("/console/goods/banners/", {"title": "x"},
                                               follow=True)
    assert "Choose an image to upload." in response.content.decode()
    assert Banner.objects.count() == 1 and not AuditEntry.objects.exists()


def test_the_editor_save_is_one_transaction(goods, staff_client, monkeypatch):
    """An audit failure after the catalogue's writes leaves no product behind."""
    import merchant_console.goods_views as views

    def boom(*args, **kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(views, "audit_record", boom)
    client = staff_client("operations")
    client.raise_request_exception = False
    response = client.post("/console/goods/new/", _editor_post(goods["categories"][0]))
    assert response.status_code == 500
    assert not Product.objects.filter(title="新品").exists()


def test_services_product_save_refuses_a_cell_outside_the_matrix(goods):
    with pytest.raises(services.CatalogInvalid) as refused:
        services.product_save(
            product_id=None, title="x", category_id=goods["categories"][0].pk,
            base_price_fen=100,
            dimensions=[services.SpecDimensionInput(name="颜色", values=["红"])],
            cells=[services.SkuCellInput(values=("蓝",), price_fen=100, stock=1)],
            commission=services.CommissionInput(mode="inherit"),
            actor=Actor.staff(get_user_model().objects.get().pk),
        )
    assert "not a combination" in str(refused.value.fields)
    assert not Product.objects.filter(title="x").exists()
    assert ProductImage.objects.count() == 4


def test_unknown_ids_are_the_404_page(goods, staff_client):
    client = staff_client("owner")
    for path in ("/console/goods/999999/", "/console/goods/categories/999999/",
                 "/console/goods/banners/999999/", "/console/goods/transfer/imports/999999/"):
        assert client.get(path).status_code == 404, path


def test_the_existing_catalogue_api_writes_audit_rows_too(goods, staff_client):
    client = staff_client("operations")
    category = goods["categories"][0]
    response = client.post("/api/v1/console/products/", {
        "title": "接口商品", "category_id": category.pk, "base_price_fen": 100},
        content_type="application/json")
    assert response.status_code == 201
    product_id = response.json()["id"]
    client.patch(f"/api/v1/console/categories/{category.pk}/", {"name": "新名"},
                 content_type="application/json")
    response = client.patch(f"/api/v1/console/categories/{category.pk}/", {"name": ""},
                            content_type="application/json")
    assert response.status_code == 400
    assert list(AuditEntry.objects.order_by("id").values_list("action", "target")) == [
        ("product.create", str(product_id)), ("category.update", str(category.pk))]


def test_the_grid_switches_a_combination_off_and_on_again(goods, staff_client):
    client = staff_client("operations")
    category = goods["categories"][0]
    client.post("/console/goods/new/", _editor_post(category, on_shelf="on"))
    product = Product.objects.get(title="新品")
    skus = [{"values": [colour, size], "price": "12.50", "stock": "3",
             "is_active": (colour, size) != ("蓝", "M")}
            for colour in ("红", "蓝") for size in ("S", "M")]
    response = client.post(f"/console/goods/{product.pk}/", _editor_post(
        category, skus=skus, on_shelf="on"))
    assert response.status_code == 302
    assert set(product.skus.filter(is_active=False).values_list("spec_label", flat=True)) == {
        "颜色:蓝 / 尺码:M"}
    state = client.get(f"/console/goods/{product.pk}/").context["state"]
    assert [sku["is_active"] for sku in state["skus"]] == [True, True, True, False]
    skus[-1]["is_active"] = True
    client.post(f"/console/goods/{product.pk}/", _editor_post(category, skus=skus,
                                                              on_shelf="on"))
    assert product.skus.filter(is_active=True).count() == 4
    # Every combination off: the product cannot stay on the shelf, and nothing changes.
    for sku in skus:
        sku["is_active"] = False
    response = client.post(f"/console/goods/{product.pk}/", _editor_post(
        category, skus=skus, on_shelf="on"))
    assert response.status_code == 400 and "active SKU" in response.content.decode()
    assert product.skus.filter(is_active=True).count() == 4


def test_every_demo_product_saves_back_unchanged_from_its_editor(mall, staff_client):
    """What the editor shows is exactly what it saves: re-posting each demo product's state
    changes no SKU."""
    from tenants.demo import demo_catalogue_seed

    demo_catalogue_seed()
    dress = Product.objects.filter(dimensions__isnull=False).first()
    first = dress.dimensions.first()
    services.product_update(product_id=dress.pk, dimensions=[  # one value goes: SKUs vanish
        services.SpecDimensionInput(name=dim.name, values=[
            value.value for value in dim.values.all()][: -1 if dim == first else None])
        for dim in dress.dimensions.all()])
    assert dress.skus.filter(is_active=False).exists()
    client = staff_client("owner")
    before = sorted(Sku.objects.values_list("pk", "price_fen", "stock", "is_active",
                                            "commission_mode"))
    for product in Product.objects.all():
        response = client.get(f"/console/goods/{product.pk}/")
        values = response.context["values"]
        form = {**{name: values.get(name) or "" for name in (
            "title", "subtitle", "base_price", "commission_mode", "commission_fixed",
            "commission_rates")},
            "category": str(values["category"]), "description_html": values["description"],
            "matrix": json.dumps(response.context["state"])}
        if values["on_shelf"]:
            form["on_shelf"] = "on"
        response = client.post(f"/console/goods/{product.pk}/", form)
        assert response.status_code == 302, (product.title, response.content.decode()[:2000])
    assert sorted(Sku.objects.values_list("pk", "price_fen", "stock", "is_active",
                                          "commission_mode")) == before
