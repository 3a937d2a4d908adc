"""The owner opens the console home after orders were placed and paid, and sees the day's
GMV and order count, and the sales chart drawn (ECharts' canvas) from its JSON endpoint."""

import pytest
from django.db import connection

from tests.conftest import OWNER_PASSWORD
from tests.distribution.conftest import make_shopper, place
from tests.e2e.conftest import live_mall
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory
from tests.insights.conftest import pay

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("committed_cleanup")]


@pytest.fixture
def mall_with_sales(live_server, settings):
    base, merchant = live_mall(live_server, settings, name="Dash Mall", slug="dash-mall",
                               owner_email="boss@example.com")
    connection.set_tenant(merchant)
    ShippingTemplateFactory(default_fee_fen=0, free_above_fen=0)
    kettle = SkuFactory(price_fen=12800, stock=50, product__title="Kettle")
    cups = SkuFactory(price_fen=3500, stock=50, product__title="Cups")
    pay(place(make_shopper(), (kettle, 1), (cups, 2)))  # 198.00
    pay(place(make_shopper(), (cups, 1)))  # 35.00
    place(make_shopper(), (kettle, 1))  # not paid: no GMV
    connection.set_schema_to_public()
    yield base
    connection.set_schema_to_public()


def test_the_owner_sees_the_days_sales_and_the_chart(mall_with_sales, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(mall_with_sales + "/console/login/")
        page.fill("#id_username", "boss@example.com")
        page.fill("#id_password", OWNER_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(mall_with_sales + "/console/")

        assert page.inner_text("#stat-gmv") == "¥233.00"
        assert page.inner_text("#stat-orders") == "2"
        assert page.inner_text("#stat-shoppers") == "2"
        page.wait_for_selector("#sales-chart[data-drawn='1'] canvas")
        page.wait_for_selector("#funnel-chart[data-drawn='1'] canvas")
        assert "Cups" in page.inner_text("#top-goods")

        page.click("#period-tabs a:has-text('7')")
        page.wait_for_url("**/console/?period=7d")
        assert page.inner_text("#stat-gmv") == "¥233.00"
        page.wait_for_selector("#sales-chart[data-drawn='1'] canvas")
    finally:
        context.close()
