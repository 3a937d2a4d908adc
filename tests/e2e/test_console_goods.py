"""The owner creates a product with two spec dimensions in the console's editor (the SKU
grid follows the dimensions and keeps typed values), and shoppers see it in the mall with
its SKUs."""

import pytest
from django.db import connection

from storefront.catalog.models import Category, Product
from tests.conftest import OWNER_PASSWORD
from tests.e2e.conftest import live_mall

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("committed_cleanup")]


@pytest.fixture
def goods_mall(live_server, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    base, merchant = live_mall(live_server, settings, name="Goods Mall", slug="goods-mall")
    connection.set_tenant(merchant)
    category = Category.objects.create(name="女装")
    connection.set_schema_to_public()
    yield base, merchant, category
    connection.set_schema_to_public()


def _grid_rows(page) -> list[str]:
    return [text.strip() for text in page.locator("#sku-grid tbody tr td:first-child")
            .all_inner_texts()]


def _row(page, label: str):
    return page.locator("#sku-grid tbody tr").filter(
        has=page.locator("td:first-child", has_text=label))


def test_owner_creates_a_product_with_two_spec_dimensions_and_shoppers_see_it(
        goods_mall, browser):
    base, merchant, category = goods_mall
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(base + "/console/login/?next=/console/goods/")
        page.fill("#id_username", "o@example.com")
        page.fill("#id_password", OWNER_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/goods/")
        page.click("#new-product")
        page.wait_for_url("**/console/goods/new/")

        page.fill("input[name=title]", "真丝衬衫")
        page.select_option("select[name=category]", str(category.pk))
        page.fill("#base-price", "199")
        page.click("#add-dimension")
        dims = page.locator("#spec-dimensions .dimension")
        dims.nth(0).locator(".dim-name").fill("颜色")
        dims.nth(0).locator(".dim-values").fill("红, 蓝")
        assert _grid_rows(page) == ["红", "蓝"]
        _row(page, "红").locator("[data-field=price]").fill("188.50")

        page.click("#add-dimension")
        dims.nth(1).locator(".dim-name").fill("尺码")
        dims.nth(1).locator(".dim-values").fill("S, M")
        assert _grid_rows(page) == ["红 / S", "红 / M", "蓝 / S", "蓝 / M"]
        for label, price, stock in [("红 / S", "188.50", "5"), ("红 / M", "189", "6"),
                                    ("蓝 / S", "199", "7"), ("蓝 / M", "199", "0")]:
            _row(page, label).locator("[data-field=price]").fill(price)
            _row(page, label).locator("[data-field=stock]").fill(stock)
        _row(page, "蓝 / M").locator("[data-field=commission_mode]").select_option("fixed")
        _row(page, "蓝 / M").locator("[data-field=commission_fixed]").fill("5")

        # A third size: the grid grows, and what was typed for the others stays.
        dims.nth(1).locator(".dim-values").fill("S, M, L")
        assert len(_grid_rows(page)) == 6
        assert _row(page, "红 / M").locator("[data-field=price]").input_value() == "189"
        assert _row(page, "蓝 / S").locator("[data-field=stock]").input_value() == "7"
        dims.nth(1).locator(".dim-values").fill("S, M")
        assert _grid_rows(page) == ["红 / S", "红 / M", "蓝 / S", "蓝 / M"]
        assert _row(page, "蓝 / M").locator("[data-field=commission_fixed]").input_value() == "5"

        page.click("#description-editor")
        page.keyboard.type("柔软亲肤")
        page.check("input[name=on_shelf]")
        page.click("#save-product")
        page.wait_for_url("**/console/goods/*/")
        assert "Saved 真丝衬衫" in page.inner_text(".messages")
        assert len(_grid_rows(page)) == 4  # the saved matrix, read back into the editor

        connection.set_tenant(merchant)
        product = Product.objects.get(title="真丝衬衫")
        skus = {sku.spec_label: (sku.price_fen, sku.stock, sku.commission_mode,
                                 sku.commission_fixed_fen)
                for sku in product.skus.filter(is_active=True)}
        assert skus == {
            "颜色:红 / 尺码:S": (18850, 5, "inherit", 0),
            "颜色:红 / 尺码:M": (18900, 6, "inherit", 0),
            "颜色:蓝 / 尺码:S": (19900, 7, "inherit", 0),
            "颜色:蓝 / 尺码:M": (19900, 0, "fixed", 500),
        }
        assert product.is_on_shelf and "柔软亲肤" in product.description_html
        connection.set_schema_to_public()

        # The mall: the product is listed and its page offers both dimensions' values.
        page.goto(base + "/")
        assert page.locator(f"a[href='/products/{product.pk}/']").count() >= 1
        page.goto(base + f"/products/{product.pk}/")
        assert "真丝衬衫" in page.inner_text("h1")
        assert "188.50" in page.inner_text("#price-range")
        page.click("#bar-buy-now")  # the bottom bar opens the spec sheet
        chips = [text.strip() for text in page.locator("button.chip").all_inner_texts()]
        assert chips == ["红", "蓝", "S", "M"]
        page.click("button.chip:has-text('蓝')")
        page.click("button.chip:has-text('S')")
        assert "199.00" in page.inner_text("#sku-price")
    finally:
        context.close()


def test_owner_reorders_the_gallery_by_dragging_and_deletes_a_picture(goods_mall, browser):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from storefront.catalog import services
    from tests.factories.catalog import image_bytes

    base, merchant, category = goods_mall
    connection.set_tenant(merchant)
    product = services.product_create(title="画册", category_id=category.pk, base_price_fen=100)
    red, blue = (services.product_image_add(
        product_id=product.pk,
        upload=SimpleUploadedFile(f"{name}.png", image_bytes(fmt="PNG", color=color)))
        for name, color in (("red", (200, 0, 0)), ("blue", (0, 0, 200))))
    connection.set_schema_to_public()
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        page.goto(base + f"/console/login/?next=/console/goods/{product.pk}/")
        page.fill("#id_username", "o@example.com")
        page.fill("#id_password", OWNER_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**/console/goods/{product.pk}/")
        order = lambda: [int(pk) for pk in page.locator(  # noqa: E731
            "#gallery-list .thumb").evaluate_all("items => items.map(i => i.dataset.image)")]
        assert order() == [red.pk, blue.pk]

        with page.expect_response(f"**/console/goods/{product.pk}/images/order/"):
            page.locator(f"[data-image='{blue.pk}'] img").drag_to(
                page.locator(f"[data-image='{red.pk}'] img"))
        page.wait_for_function(
            f"document.querySelector('#gallery-list .thumb').dataset.image === '{blue.pk}'")
        assert order() == [blue.pk, red.pk]
        connection.set_tenant(merchant)
        product.refresh_from_db()
        assert product.cover_id == blue.pk
        connection.set_schema_to_public()

        with page.expect_response(f"**/images/{red.pk}/delete/"):
            page.locator(f"[data-image='{red.pk}'] button").click()
        page.wait_for_function("document.querySelectorAll('#gallery-list .thumb').length === 1")
        assert order() == [blue.pk]
    finally:
        context.close()
