import pytest

from storefront.orders.pricing import allocate, quote_items
from tests.factories.catalog import SkuFactory
from tests.factories.orders import (
    DiscountRuleFactory,
    ShippingRegionFeeFactory,
    ShippingTemplateFactory,
)


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (3000, [10000, 10000, 10000], [1000, 1000, 1000]),
        (100, [1, 1, 1], [34, 33, 33]),
        (1, [5000, 15000], [0, 1]),
        (0, [5, 5], [0, 0]),
        (7, [0, 0], [0, 0]),
    ],
)
def test_allocate_adds_up_exactly(total, weights, expected):
    assert allocate(total, weights) == expected
    if sum(weights):
        assert sum(allocate(total, weights)) == total


def test_quote_applies_best_discount_and_region_shipping(mall):
    DiscountRuleFactory(threshold_fen=20000, amount_off_fen=3000)
    DiscountRuleFactory(name="满500减100", threshold_fen=50000, amount_off_fen=10000)
    ShippingRegionFeeFactory(template=ShippingTemplateFactory(free_above_fen=0))
    cheap = SkuFactory(price_fen=5000)
    dear = SkuFactory(price_fen=15000)

    quote = quote_items(items=[(cheap, 1), (dear, 1)], province="新疆")

    assert quote.goods_fen == 20000
    assert quote.discount_fen == 3000
    assert [line.discount_fen for line in quote.lines] == [750, 2250]
    assert [line.paid_fen for line in quote.lines] == [4250, 12750]
    assert quote.shipping_fen == 2500
    assert quote.total_fen == 20000 - 3000 + 2500


def test_free_shipping_above_threshold_counts_goods_after_discount(mall):
    ShippingTemplateFactory(default_fee_fen=800, free_above_fen=19900)
    DiscountRuleFactory(threshold_fen=20000, amount_off_fen=3000)
    sku = SkuFactory(price_fen=20000)

    quote = quote_items(items=[(sku, 1)], province="浙江")

    assert quote.discount_fen == 3000
    assert quote.shipping_fen == 800  # 17000 after discount is below 19900
