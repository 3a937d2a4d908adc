"""Two shoppers on phones: A joins as a distributor and opens a poster; B opens A's link,
buys and pays at the WeChat Pay simulator; A's earnings page, left open, shows the pending
commission without a reload."""

import time

import pytest
from django.db import connection

from storefront.catalog.models import Product
from storefront.distribution import plans
from storefront.distribution.models import Commission, CustomerBinding, Distributor
from storefront.orders.models import Order, OrderStatus
from storefront.payments.models import Payment
from storefront.shoppers.senders import MemoryCodeSender
from tenants.demo import demo_catalogue_seed
from tests.e2e.conftest import live_mall
from tests.payments.conftest import bind_approved, sim_pay, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("committed_cleanup")]

PHONE_A = "13911110001"
PHONE_B = "13922220002"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


@pytest.fixture
def centre_mall(live_server, settings, tmp_path, wechat_settings, sub_merchant):
    """A committed mall on the live server with the demo goods, WeChat Pay bound to the
    simulator, and an active plan paying 10% to tier 1 and 5% to tier 2."""
    settings.SHOPPER_CODE_SENDER = "storefront.shoppers.senders.MemoryCodeSender"
    settings.SHOPPER_CODE_IP_RATE = ""
    settings.MEDIA_ROOT = tmp_path
    settings.DEBUG = True  # the dev media view serves the product pictures
    base, merchant = live_mall(live_server, settings, name="Centre Mall", slug="centre-mall")
    bind_approved(merchant, sub_merchant)
    connection.set_tenant(merchant)
    demo_catalogue_seed()
    tea = Product.objects.get(title__contains="普洱茶")  # one SKU: no spec to pick
    plan = plans.plan_create({"name": "标准", "tiers": 2, "rates_bp": [1000, 500]})
    plans.plan_activate(plan_id=plan.pk)
    connection.set_schema_to_public()
    MemoryCodeSender.clear()
    yield base, merchant, tea
    connection.set_schema_to_public()


def phone_page(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
        has_touch=True, locale="zh-CN", user_agent=IPHONE,
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def sign_in(page, phone: str) -> None:
    page.wait_for_url("**/login/**")
    page.fill("#phone", phone)
    page.check("#agree")  # PIPL: the user agreement and privacy policy, before anything
    page.click("#send-code")
    page.wait_for_selector("#code")
    page.fill("#code", MemoryCodeSender.last_code(phone))
    page.click("#sign-in")


def test_a_distributor_sees_a_friends_purchase_appear_without_reloading(
        centre_mall, browser, wechat_sim):
    base, merchant, tea = centre_mall
    context_a, a = phone_page(browser)
    context_b, b = phone_page(browser)
    try:
        # A finds the centre on the account page, signs in and joins, for free.
        a.goto(base + "/me/distribution/join/")
        assert "加入免费" in a.content()
        a.click("#join-sign-in")
        sign_in(a, PHONE_A)
        a.wait_for_url("**/me/distribution/join/")
        a.click("#join-button")
        a.wait_for_url("**/me/distribution/")
        invite_code = a.inner_text("#invite-code").strip()

        # A's link and the poster of the tea.
        a.goto(base + "/me/distribution/share/")
        link = a.input_value("#invite-link")
        assert f"invite={invite_code}" in link and link.startswith(base + "/?ref=")
        with a.expect_popup() as popup:
            a.click(f".poster-link[href$='product={tea.pk}']")
        poster = popup.value
        poster.wait_for_load_state()
        size = poster.evaluate("[document.images[0].naturalWidth, document.images[0]."
                               "naturalHeight, document.contentType]")
        assert size == [750, 1200, "image/png"]
        poster.close()

        # A leaves the earnings page open.
        a.goto(base + "/me/distribution/earnings/")
        assert a.locator("#commissions-empty").is_visible()
        a.evaluate("window.__notReloaded = true")

        # B opens A's link, picks the tea, signs in, adds an address, orders and pays.
        b.goto(link)
        b.click(f"a[href='/products/{tea.pk}/']")
        b.click("#bar-buy-now")  # the bottom bar opens the spec sheet
        b.click("#buy-now")
        sign_in(b, PHONE_B)
        b.wait_for_url("**/checkout/**")
        if b.locator("#place-order").is_disabled():
            b.click("a[href*='/me/addresses/new/']")
            b.fill("#id_recipient", "韩梅梅")
            b.fill("#id_phone", PHONE_B)
            b.fill("#id_province", "上海")
            b.fill("#id_city", "上海")
            b.fill("#id_district", "徐汇区")
            b.fill("#id_detail", "漕溪北路 1 号")
            b.click("#save-address")
            b.wait_for_url("**/checkout/**")
        b.click("#place-order")
        b.wait_for_selector("#order-number")
        number = b.inner_text("#order-number").strip()
        b.click("#pay-order")
        b.wait_for_selector("#open-cashier")

        connection.set_tenant(merchant)
        distributor = Distributor.objects.get(shopper__phone=PHONE_A)
        assert CustomerBinding.objects.get(shopper__phone=PHONE_B).distributor == distributor
        order = Order.objects.get(number=number)
        sim_pay(wechat_sim[0], Payment.objects.get(order=order))
        # WeChat's callback reaches the live server; the order is paid, the commission
        # accrued in the same transaction.
        assert wait_for(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID)
        paid_seen = time.monotonic()
        commission = Commission.objects.get(order=order, distributor=distributor)
        earned = order.lines.get().paid_fen * 1000 // 10000  # 10% of what B paid (after 满减)
        assert (commission.tier, commission.amount_fen, commission.status) == (
            1, earned, "pending")
        shown = f"{earned // 100}.{earned % 100:02d}"

        # A's page shows it by itself, within one poll.
        a.wait_for_selector(f"#commission-rows li[data-id='{commission.pk}']", timeout=5000)
        latency = time.monotonic() - paid_seen
        assert latency < 3.0, latency  # polls every 2 s from each request's start
        assert a.evaluate("window.__notReloaded") is True
        assert a.inner_text("#balance-pending").strip() == shown
        row = a.inner_text(f"#commission-rows li[data-id='{commission.pk}']")
        assert f"+¥{shown}" in row and number[-4:] in row and number not in row
        assert "方案 v1" in row
        b.wait_for_url(f"**/orders/{number}/")
    finally:
        connection.set_schema_to_public()
        context_a.close()
        context_b.close()
