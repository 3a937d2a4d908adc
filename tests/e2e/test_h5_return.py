"""A shopper on a phone signs in (ticking the consent box), pays an order at WeChat's H5
cashier (the simulator), is sent back to the order page, which waits for the callback and
then shows 已支付."""

import re

import pytest
from django.db import connection

from storefront.orders.models import Order, OrderStatus
from storefront.orders.services import CheckoutItem, order_place
from storefront.shoppers.models import Shopper
from storefront.shoppers.senders import MemoryCodeSender
from tests.e2e.conftest import live_mall
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory
from tests.factories.shoppers import AddressFactory
from tests.payments.conftest import bind_approved

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("committed_cleanup")]

PHONE = "13912340001"


@pytest.fixture
def h5_mall(live_server, settings, wechat_settings, sub_merchant):
    settings.SHOPPER_CODE_SENDER = "storefront.shoppers.senders.MemoryCodeSender"
    base, merchant = live_mall(live_server, settings, name="H5 Mall", slug="h5-mall")
    bind_approved(merchant, sub_merchant)
    connection.set_tenant(merchant)
    ShippingTemplateFactory(default_fee_fen=0, free_above_fen=0)
    sku = SkuFactory(price_fen=1990, stock=5)
    address = AddressFactory(shopper__phone=PHONE)
    order = order_place(shopper=address.shopper, items=[CheckoutItem(sku.pk, 1)],
                        address_id=address.pk, referrer_code=None)
    connection.set_schema_to_public()
    MemoryCodeSender.clear()
    yield base, merchant, order.number
    connection.set_schema_to_public()


def test_back_from_the_h5_cashier_the_order_page_shows_paid(h5_mall, phone, wechat_sim):
    base, merchant, number = h5_mall
    page = phone

    page.goto(f"{base}/orders/{number}/")
    page.wait_for_url("**/login/**")
    page.fill("#phone", PHONE)
    page.click("#send-code")  # the box is not ticked: refused, no code sent
    page.wait_for_selector("#agree-errors")
    assert MemoryCodeSender.outbox == []
    page.check("#agree")
    page.click("#send-code")
    page.wait_for_selector("#code")
    page.fill("#code", MemoryCodeSender.last_code(PHONE))
    page.click("#sign-in")
    page.wait_for_url(f"**/orders/{number}/")

    page.click("#pay-order")
    page.wait_for_selector("#open-cashier")
    href = page.get_attribute("#open-cashier", "href")
    assert "redirect_url=http%3A%2F%2Fh5-mall.localhost" in href
    page.click("#open-cashier")

    # WeChat's H5 cashier (the simulator): pay, and be sent back to the order page.
    page.wait_for_selector("text=立即支付")
    page.click("text=立即支付")
    page.wait_for_url(re.compile(rf".*/orders/{number}/\?from=cashier$"))
    page.wait_for_selector("#payment-result:has-text('已支付')", timeout=20000)
    assert page.get_attribute("#payment-confirm", "data-state") == "paid"

    connection.set_tenant(merchant)
    order = Order.objects.get(number=number)
    assert order.status == OrderStatus.PAID
    shopper = Shopper.objects.get(phone=PHONE)
    assert shopper.consented_at is not None
    connection.set_schema_to_public()
