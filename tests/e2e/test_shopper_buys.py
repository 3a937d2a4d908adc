"""A shopper on a phone finds a product, picks a spec, signs in, places an order and pays;
a merchant signs up and lands in their new mall's console."""

import pytest
from django.db import connection

from storefront.catalog.models import Product, Sku
from storefront.orders.models import Order, OrderStatus
from storefront.payments.models import Payment
from storefront.shoppers.senders import MemoryCodeSender
from tenants.demo import demo_catalogue_seed
from tests.conftest import OWNER_PASSWORD, ensure_default_plan
from tests.e2e.conftest import live_mall, live_platform
from tests.payments.conftest import bind_approved, sim_pay

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("committed_cleanup")]

PHONE = "13912345678"


@pytest.fixture
def e2e_mall(live_server, settings, tmp_path, wechat_settings, sub_merchant):
    settings.SHOPPER_CODE_SENDER = "storefront.shoppers.senders.MemoryCodeSender"
    settings.MEDIA_ROOT = tmp_path
    settings.DEBUG = True  # the dev media view serves the product pictures
    base, merchant = live_mall(live_server, settings, name="E2E Mall", slug="e2e-mall")
    bind_approved(merchant, sub_merchant)
    connection.set_tenant(merchant)
    demo_catalogue_seed()
    dress = Product.objects.get(title__contains="连衣裙")
    # Pink in size L is sold out: the picker must not offer it once pink is chosen.
    sold_out = Sku.objects.get(product=dress, spec_label__contains="粉色", spec_label__endswith="L")
    sold_out.stock = 0
    sold_out.save(update_fields=["stock"])
    connection.set_schema_to_public()
    MemoryCodeSender.clear()
    yield base, merchant, dress, sold_out
    connection.set_schema_to_public()


def test_shopper_finds_picks_a_spec_orders_and_pays(e2e_mall, phone, wechat_sim):
    base, merchant, dress, sold_out = e2e_mall
    page = phone

    page.goto(base + "/")
    assert "E2E Mall" in page.title()
    page.fill("input[name=q]", "连衣裙")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/search/**")
    page.click(f"a[href='/products/{dress.pk}/']")

    page.click("#bar-buy-now")  # the bottom bar opens the spec sheet
    page.click("button.chip:has-text('粉色')")
    size_l = page.locator("button.chip:has-text('L')").first
    assert size_l.is_disabled() or "disabled" in (size_l.get_attribute("class") or "")
    page.click("button.chip:has-text('M')")
    page.click("#buy-now")

    # not signed in yet: phone sign-in, then back to checkout
    page.wait_for_url("**/login/**")
    page.fill("#phone", PHONE)
    page.check("#agree")  # PIPL: the user agreement and privacy policy, before anything
    page.click("#send-code")
    page.wait_for_selector("#code")
    page.fill("#code", MemoryCodeSender.last_code(PHONE))
    page.click("#sign-in")

    # no address yet: add one on the way
    page.wait_for_url("**/checkout/**")
    if page.locator("#place-order").is_disabled():
        page.click("a[href*='/me/addresses/new/']")
        page.fill("#id_recipient", "李雷")
        page.fill("#id_phone", PHONE)
        page.fill("#id_province", "浙江")
        page.fill("#id_city", "杭州")
        page.fill("#id_district", "西湖区")
        page.fill("#id_detail", "文三路 100 号")
        page.click("#save-address")
        page.wait_for_url("**/checkout/**")
    page.click("#place-order")

    page.wait_for_selector("#order-number")
    number = page.inner_text("#order-number").strip()
    connection.set_tenant(merchant)
    order = Order.objects.get(number=number)
    line = order.lines.get()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert "粉色" in line.spec_label and "M" in line.spec_label
    assert line.unit_price_fen == dress.base_price_fen
    assert Sku.objects.get(pk=line.sku_id).stock == 49
    assert page.locator("#pay-order").is_visible()
    assert not Payment.objects.exists()  # showing the order started nothing

    # Pay now (a POST): on a phone outside WeChat, WeChat Pay's H5 cashier.
    page.click("#pay-order")
    page.wait_for_selector("#open-cashier")
    payment = Payment.objects.get(order=order)
    assert payment.channel == "h5"
    # The shopper confirms in WeChat's cashier; the page notices the callback's result.
    sim_pay(wechat_sim[0], payment)
    page.wait_for_url(f"**/orders/{number}/")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    connection.set_schema_to_public()


def test_merchant_signs_up_and_lands_in_the_new_malls_console(live_server, settings, browser):
    port = live_platform(live_server, settings)
    ensure_default_plan()
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(f"http://localhost:{port}/signup/")
        page.fill("input[name=name]", "Tea House")
        page.fill("input[name=slug]", "tea-house")
        page.fill("input[name=owner_email]", "boss@example.com")
        page.fill("input[name=password]", OWNER_PASSWORD)
        with page.expect_request("**/console/handoff/") as handoff:
            page.click("button[type=submit]")
        # The token travels in the POST body, never in a URL.
        assert handoff.value.method == "POST" and "?" not in handoff.value.url
        page.wait_for_url(f"http://tea-house.localhost:{port}/console/")
        assert "Tea House" in page.content()
        assert "boss@example.com" in page.content()
    finally:
        context.close()
