import pytest

from storefront.orders.services import CheckoutItem, order_place
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory
from tests.factories.shoppers import AddressFactory


@pytest.fixture
def buyer(mall):
    return AddressFactory().shopper


@pytest.fixture
def sku(mall):
    ShippingTemplateFactory(default_fee_fen=800, free_above_fen=0)
    return SkuFactory(price_fen=9900, stock=10)


@pytest.fixture
def place(buyer):
    def _place(*items, shopper=None, **kwargs):
        shopper = shopper or buyer
        return order_place(
            shopper=shopper,
            items=[CheckoutItem(sku_id=s.pk, quantity=q) for s, q in items],
            address_id=shopper.addresses.first().pk,
            **kwargs,
        )

    return _place
