"""The merchant ships an order from the console in a real browser, and the shopper sees it
shipped in the mall. The order is placed and paid through the real services: WeChat Pay's
simulator calls the live server back with a signed callback."""

import pytest
from django.db import connection

from merchant_console.models import AuditEntry
from storefront.orders.models import Order, OrderStatus
from storefront.orders.services import CheckoutItem, order_place
from storefront.payments import services as payments
from storefront.payments.models import PaymentChannel
from storefront.shoppers.senders import MemoryCodeSender
from tests.conftest import OWNER_PASSWORD
from tests.e2e.conftest import live_mall
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory
from tests.factories.shoppers import AddressFactory, ShopperFactory
from tests.payments.conftest import bind_approved, sim_pay, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("committed_cleanup")]

PHONE = "13987654321"


@pytest.fixture
def paid_order(live_server, settings, wechat_settings, sub_merchant, wechat_sim):
    settings.SHOPPER_CODE_SENDER = "storefront.shoppers.senders.MemoryCodeSender"
    base, merchant = live_mall(live_server, settings, name="Ship Mall", slug="ship-mall",
                               owner_email="boss@example.com")
    bind_approved(merchant, sub_merchant)
    connection.set_tenant(merchant)
    ShippingTemplateFactory(default_fee_fen=0, free_above_fen=0)
    sku = SkuFactory(price_fen=4990, stock=5)
    shopper = AddressFactory(shopper=ShopperFactory(phone=PHONE)).shopper
    order = order_place(shopper=shopper, items=[CheckoutItem(sku_id=sku.pk, quantity=1)],
                        address_id=shopper.addresses.get().pk)
    payment = payments.payment_start(order=order, shopper=shopper,
                                     channel=PaymentChannel.NATIVE).payment
    sim_pay(wechat_sim[0], payment)
    assert wait_for(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID)
    connection.set_schema_to_public()
    MemoryCodeSender.clear()
    yield base, merchant, order
    connection.set_schema_to_public()


def test_owner_ships_an_order_and_the_shopper_sees_it_shipped(paid_order, browser, phone):
    base, merchant, order = paid_order
    desk = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = desk.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(base + "/console/orders/")
        page.wait_for_url("**/console/login/**")
        page.fill("#id_username", "boss@example.com")
        page.fill("#id_password", OWNER_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/console/orders/")
        assert page.locator("nav.console-nav a.current[data-area=orders]").is_visible()
        page.click("#status-tabs a[data-status=paid]")
        page.click(f"#order-{order.number} a[href='/console/orders/{order.number}/']")
        page.wait_for_url(f"**/console/orders/{order.number}/")
        assert page.inner_text("#money-paid").strip() == "¥49.90"
        assert page.locator("#timeline tr[data-kind=payment]").count() >= 1
        page.fill("#carrier", "顺丰速运")
        page.fill("#tracking-number", "SF1234567890")
        page.click("#ship")
        page.wait_for_selector("#tracking")
        assert "SF1234567890" in page.inner_text("#tracking")
        assert page.inner_text("#order-status").strip() == "已发货"
        assert page.locator("#timeline tr[data-kind=shipment]").count() == 1
    finally:
        desk.close()

    connection.set_tenant(merchant)
    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == (
        OrderStatus.SHIPPED, "顺丰速运", "SF1234567890")
    assert AuditEntry.objects.filter(action="order.ship", target=order.number).count() == 1
    connection.set_schema_to_public()

    # The shopper signs in on their phone and opens the order.
    phone.goto(f"{base}/orders/{order.number}/")
    phone.wait_for_url("**/login/**")
    phone.fill("#phone", PHONE)
    phone.check("#agree")  # PIPL consent
    phone.click("#send-code")
    phone.wait_for_selector("#code")
    phone.fill("#code", MemoryCodeSender.last_code(PHONE))
    phone.click("#sign-in")
    phone.wait_for_url(f"**/orders/{order.number}/")
    assert phone.get_attribute("#order-status", "data-status") == "shipped"
    assert "SF1234567890" in phone.inner_text("#tracking")
    assert "顺丰速运" in phone.inner_text("#tracking")
