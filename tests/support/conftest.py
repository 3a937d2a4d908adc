"""Shoppers, their orders and a way to sign them in, for the customer-service tests."""

from __future__ import annotations

import pytest

from storefront.orders.services import CheckoutItem, order_place
from storefront.web.shopper_session import SESSION_KEY
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory
from tests.factories.shoppers import AddressFactory, ShopperFactory


def sign_in(client, shopper):
    session = client.session
    session[SESSION_KEY] = shopper.pk
    session.save()
    return client


@pytest.fixture
def place_order(mall):
    """`place_order(shopper)`: an unpaid order of one SKU for that shopper."""
    ShippingTemplateFactory(default_fee_fen=0, free_above_fen=0)
    sku = SkuFactory(price_fen=1990, stock=100)

    def _place(shopper):
        address = AddressFactory(shopper=shopper)
        return order_place(shopper=shopper, items=[CheckoutItem(sku_id=sku.pk, quantity=1)],
                           address_id=address.pk)

    return _place


@pytest.fixture
def alice(mall):
    return ShopperFactory(nickname="alice", phone="13900000001")


@pytest.fixture
def bob(mall):
    return ShopperFactory(nickname="bob", phone="13900000002")


@pytest.fixture
def alice_client(mall_client, alice):
    mall_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return sign_in(mall_client, alice)
