"""Orders whose amounts would not fit their columns (PositiveIntegerField: 2147483647 fen)
are refused with a 400 naming the limit, never a 500, and nothing is written: the largest
price staff may set (¥999,999.99) times the largest quantity (999) is ¥999 million."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from storefront.catalog.services import MAX_PRICE_FEN
from storefront.orders.models import Cart, CartLine, Order, OrderStatusChange, ShippingTemplate
from tests.conftest import host_client
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory
from tests.factories.shoppers import AddressFactory
from tests.shoppers.conftest import sign_in

pytestmark = pytest.mark.django_db

LIMIT = "An order can come to at most 2147483647 fen (¥21474836.47)."


def _error(field: str) -> dict:
    return {"code": "amount_too_large", "message": LIMIT, "fields": {field: [LIMIT]}}


@pytest.fixture
def dear(mall):
    """The dearest SKU staff can price, with stock for the largest line."""
    ShippingTemplateFactory(default_fee_fen=0, free_above_fen=0)
    return SkuFactory(price_fen=MAX_PRICE_FEN, stock=5000)


@pytest.fixture
def buyer(mall):
    return AddressFactory().shopper


@pytest.fixture
def api(mall, buyer) -> Client:
    return sign_in(host_client(mall), buyer)


def _post(client: Client, path: str, body: dict, method: str = "post"):
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


def _state(sku) -> tuple:
    sku.refresh_from_db()
    return (Order.objects.count(), OrderStatusChange.objects.count(), sku.stock,
            sorted(CartLine.objects.values_list("sku_id", "quantity")))


def test_quote_and_place_refuse_goods_over_the_limit(api, buyer, dear):
    items = [{"sku_id": dear.pk, "quantity": 999}]
    before = _state(dear)

    quote = _post(api, "/api/v1/checkout/quote/", {"items": items})
    placed = _post(api, "/api/v1/orders/", {
        "items": items, "address_id": buyer.addresses.get().pk,
    })

    assert (quote.status_code, quote.json()) == (400, _error("items"))
    assert (placed.status_code, placed.json()) == (400, _error("items"))
    assert _state(dear) == before


def test_shipping_that_pushes_the_total_over_the_limit_is_refused(api, buyer, dear):
    ShippingTemplate.objects.update(default_fee_fen=50_000_000)
    items = [{"sku_id": dear.pk, "quantity": 21}]  # goods 2099999979: fits, the total not
    before = _state(dear)

    placed = _post(api, "/api/v1/orders/", {
        "items": items, "address_id": buyer.addresses.get().pk,
    })

    assert (placed.status_code, placed.json()) == (400, _error("items"))
    assert _state(dear) == before


def test_the_cart_refuses_a_quantity_over_the_limit(api, buyer, dear, mall):
    other = SkuFactory(price_fen=MAX_PRICE_FEN, stock=5000, product=dear.product,
                       spec_key="other")
    assert _post(api, "/api/v1/cart/items/", {"sku_id": dear.pk, "quantity": 15}
                 ).status_code == 201
    before = _state(dear)

    added = _post(api, "/api/v1/cart/items/", {"sku_id": other.pk, "quantity": 7})
    grown = _post(api, "/api/v1/cart/items/", {"sku_id": dear.pk, "quantity": 7})
    set_to = _post(api, f"/api/v1/cart/items/{dear.pk}/", {"quantity": 22}, method="patch")

    for response in (added, grown, set_to):
        assert (response.status_code, response.json()) == (400, _error("quantity"))
    assert _state(dear) == before  # 15 in the cart, nothing else
    assert _post(api, "/api/v1/cart/items/", {"sku_id": other.pk, "quantity": 6}
                 ).status_code == 201  # 21 in all still fits


def test_the_pages_say_so_instead_of_failing(mall, buyer, dear):
    client = sign_in(Client(HTTP_HOST=mall.primary_host.split(":")[0],
                            HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False), buyer)
    cart = Cart.objects.create(shopper=buyer)
    CartLine.objects.create(cart=cart, sku=dear, quantity=999)  # priced up since it was added
    before = _state(dear)

    added = client.post("/cart/add/", {"sku_id": dear.pk, "quantity": 1}, follow=True)
    page = client.get("/cart/")
    checkout = client.get(f"/checkout/?sku={dear.pk}&quantity=999")
    placed = client.post("/checkout/", {
        "mode": "buy_now", "sku_id": dear.pk, "quantity": 999,
        "address_id": buyer.addresses.get().pk, "client_token": "a" * 32,
    })

    assert added.status_code == 200 and LIMIT in added.content.decode()
    assert page.status_code == 200 and LIMIT in page.content.decode()
    assert checkout.status_code == 400 and LIMIT in checkout.content.decode()
    assert placed.status_code == 400 and LIMIT in placed.content.decode()
    assert _state(dear) == before
