"""The product page on a phone: the bottom bar (店铺 / 客服 / 购物车 / 加入购物车 / 立即购买)
opens the spec picker as a bottom sheet; the shopper picks a spec (sold-out values are
disabled), sees that SKU's price and stock, steps the quantity and reaches checkout. The
cart icon's count comes from the cart API after the page loads."""

from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django_tenants.utils import schema_context

from storefront.catalog.models import Product, Sku
from storefront.web.shopper_session import SESSION_KEY
from tenants.demo import demo_catalogue_seed
from tests.e2e.conftest import live_mall
from tests.factories.shoppers import ShopperFactory

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("committed_cleanup")]


@pytest.fixture
def sheet_mall(live_server, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DEBUG = True  # the dev media view serves the product pictures
    base, merchant = live_mall(live_server, settings, name="Sheet Mall", slug="sheet-mall")
    connection.set_tenant(merchant)
    demo_catalogue_seed()
    dress = Product.objects.get(title__contains="连衣裙")
    sold_out = Sku.objects.get(product=dress, spec_label__contains="粉色", spec_label__endswith="L")
    sold_out.stock = 0
    sold_out.save(update_fields=["stock"])
    blue_m = Sku.objects.get(product=dress, spec_label__contains="蓝色",
                             spec_label__endswith="M")
    Sku.objects.filter(pk=blue_m.pk).update(price_fen=16900, stock=7)
    connection.set_schema_to_public()
    yield base, merchant, dress, blue_m
    connection.set_schema_to_public()


def _signed_in_cookie(merchant, base: str) -> dict:
    """A shopper session made directly (the sign-in flows have their own browser test)."""
    store = import_module(django_settings.SESSION_ENGINE).SessionStore
    with schema_context(merchant.schema_name):
        shopper = ShopperFactory()
        session = store()
        session[SESSION_KEY] = shopper.pk
        session.create()
    return {"name": django_settings.SESSION_COOKIE_NAME, "value": session.session_key,
            "url": base}


def test_bottom_bar_opens_the_sheet_and_buy_now_reaches_checkout(sheet_mall, phone):
    base, merchant, dress, blue_m = sheet_mall
    page = phone
    page.context.add_cookies([_signed_in_cookie(merchant, base)])

    page.goto(f"{base}/products/{dress.pk}/")
    bar = page.locator("#action-bar")
    assert bar.is_visible()
    for word in ("店铺", "客服", "购物车", "加入购物车", "立即购买"):
        assert word in bar.inner_text()
    assert bar.evaluate("el => getComputedStyle(el).position") == "fixed"
    sheet = page.locator("#spec-picker")
    assert not sheet.is_visible()  # a sheet, closed until a buy button opens it

    # 加入购物车 opens the sheet with only the add-to-cart confirm; the backdrop closes it
    page.click("#bar-add-to-cart")
    page.wait_for_selector("#spec-picker.open")
    assert page.locator("#add-to-cart").is_visible()
    assert not page.locator("#buy-now").is_visible()
    assert page.locator("#sheet-backdrop").is_visible()
    page.mouse.click(195, 80)  # tap the dimmed backdrop above the sheet
    page.wait_for_selector("#spec-picker", state="hidden")

    # 立即购买: pick 粉色 — size L is sold out for it, so it is disabled
    page.click("#bar-buy-now")
    page.wait_for_selector("#spec-picker.open")
    assert not page.locator("#add-to-cart").is_visible()
    page.click("#spec-picker button.chip:has-text('粉色')")
    size_l = page.locator("#spec-picker button.chip:has-text('L')").first
    assert size_l.is_disabled()
    assert page.locator("#buy-now").is_disabled()  # no full spec yet

    # switch to 蓝色 M: its own price and stock show
    page.click("#spec-picker button.chip:has-text('蓝色')")
    page.click("#spec-picker button.chip:has-text('M')")
    assert "169.00" in page.inner_text("#sku-price")
    assert "7" in page.inner_text("#sku-stock")
    assert page.inner_text("#spec-row-text") == "蓝色 / M"
    page.click("#quantity-more")
    page.click("#quantity-more")
    assert page.input_value("#quantity") == "3"
    page.click("#quantity-less")
    page.click("#buy-now")

    page.wait_for_url("**/checkout/**")
    assert f"sku={blue_m.pk}" in page.url and "quantity=2" in page.url
    assert "蓝色" in page.content() and "169.00" in page.content()


def test_add_to_cart_from_the_sheet_and_the_bar_counts_it(sheet_mall, phone):
    base, _merchant, dress, _blue_m = sheet_mall
    page = phone

    page.goto(f"{base}/products/{dress.pk}/")
    assert page.locator("#cart-count").is_hidden()  # an empty cart shows no count
    page.click("#bar-add-to-cart")
    page.click("#spec-picker button.chip:has-text('粉色')")
    page.click("#spec-picker button.chip:has-text('M')")
    page.click("#add-to-cart")
    page.wait_for_url("**/cart/")
    assert "连衣裙" in page.inner_text("main")

    page.goto(f"{base}/products/{dress.pk}/")
    page.wait_for_selector("#cart-count:not([hidden])")
    assert page.inner_text("#cart-count") == "1"
    # the page itself carries no count: it comes from the cart API
    html = page.evaluate("fetch(location.href).then(response => response.text())")
    assert 'id="cart-count" hidden></span>' in html
