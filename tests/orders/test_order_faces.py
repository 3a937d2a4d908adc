"""The shopper's cart, checkout, order and after-sales pages."""

from __future__ import annotations

import re
import uuid
from importlib import import_module
from io import BytesIO

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import RequestFactory
from PIL import Image

from core.actors import Actor
from storefront.orders.after_sales import RefundItem, after_sales_request
from storefront.orders.models import (
    AfterSalesRequest,
    AfterSalesStatus,
    Cart,
    CartLine,
    Order,
    OrderStatus,
    ShippingTemplate,
)
from storefront.orders.services import order_mark_paid, order_ship
from storefront.web.shopper_session import REFERRER_SESSION_KEY, SESSION_KEY, shopper_login
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingRegionFeeFactory
from tests.factories.shoppers import AddressFactory, ShopperFactory

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------ helpers


@pytest.fixture
def client(mall_client):
    """The mall's client, reading English pages (the msgids)."""
    mall_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return mall_client


def sign_in(client, shopper) -> None:
    session = client.session
    session[SESSION_KEY] = shopper.pk
    session.save()


@pytest.fixture
def shopper_client(client, buyer):
    sign_in(client, buyer)
    return client


def follow_messages(client, response) -> list[str]:
    """Messages shown on the page a redirect leads to."""
    assert response.status_code == 302, response.status_code
    page = client.get(response["Location"])
    return [str(message) for message in page.context["messages"]]


def png_upload(name: str = "photo.png") -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (16, 16), "red").save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def checkout_form(response) -> dict:
    """The hidden fields of the checkout page's form, as a browser would post them."""
    html = response.content.decode()
    form = html[html.index('id="place-order-form"'):]
    form = form[: form.index("</form>")]
    data: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form):
        data.setdefault(name, []).append(value)
    return data


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# ------------------------------------------------------------------ cart


def test_empty_cart_for_an_anonymous_visitor(client, mall):
    response = client.get("/cart/")

    assert response.status_code == 200
    assert b'id="cart-empty"' in response.content
    assert response.context["tab"] == "cart"
    assert not Cart.objects.exists()


def test_anonymous_add_keeps_a_session_cart(client, sku):
    response = client.post("/cart/add/", {"sku_id": sku.pk, "quantity": 2})

    assert response.status_code == 302
    assert response["Location"] == "/cart/"
    session_key = client.cookies["sessionid"].value
    cart = Cart.objects.get(session_key=session_key)
    assert cart.shopper is None
    assert [(line.sku_id, line.quantity) for line in cart.lines.all()] == [(sku.pk, 2)]

    page = client.get("/cart/")
    assert [str(m) for m in page.context["messages"]] == ["Added to your cart."]
    view = page.context["cart"]
    assert [(line.sku.pk, line.quantity, line.line_total_fen) for line in view.lines] == [
        (sku.pk, 2, 19800)
    ]
    # No address known yet: the template's default fee applies.
    assert (view.quote.goods_fen, view.quote.shipping_fen, view.quote.total_fen) == (
        19800, 800, 20600
    )
    assert "¥206.00" in page.content.decode()
    assert b'id="checkout"' in page.content


def test_adding_again_adds_up_and_next_is_honoured(client, sku):
    client.post("/cart/add/", {"sku_id": sku.pk, "quantity": 1})
    response = client.post(
        "/cart/add/", {"sku_id": sku.pk, "quantity": 3, "next": f"/products/{sku.product_id}/"}
    )

    assert response["Location"] == f"/products/{sku.product_id}/"
    assert CartLine.objects.get().quantity == 4


def test_add_refuses_an_offsite_next(client, sku):
    response = client.post(
        "/cart/add/", {"sku_id": sku.pk, "quantity": 1, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/cart/"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"sku_id": "abc", "quantity": 1}, "Enter a whole number."),
        ({"quantity": 1}, "This field is required."),
        ({"sku_id": "SKU", "quantity": 1000}, "Ensure this value is less than or equal to 999."),
        ({"sku_id": 99999999, "quantity": 1}, "This item is no longer available."),
        ({"sku_id": "OFF", "quantity": 1}, "This item is no longer available."),
    ],
)
def test_add_errors_become_a_message_and_change_nothing(client, sku, data, expected):
    off_shelf = SkuFactory(product__is_on_shelf=False)
    data = {
        key: {"SKU": sku.pk, "OFF": off_shelf.pk}.get(value, value)
        for key, value in data.items()
    }
    response = client.post("/cart/add/", data)

    assert follow_messages(client, response) == [expected]
    assert not CartLine.objects.exists()


def test_a_signed_in_shopper_updates_and_removes_lines(shopper_client, buyer, sku):
    other = SkuFactory(price_fen=500, stock=5)
    for item in (sku, other):
        response = shopper_client.post("/cart/add/", {"sku_id": item.pk, "quantity": 1})
        assert follow_messages(shopper_client, response) == ["Added to your cart."]
    cart = Cart.objects.get(shopper=buyer)

    shopper_client.post("/cart/update/", {"sku_id": sku.pk, "quantity": 3})
    assert cart.lines.get(sku=sku).quantity == 3

    response = shopper_client.post("/cart/update/", {"sku_id": sku.pk, "quantity": 1000})
    assert follow_messages(shopper_client, response) == [
        "Ensure this value is less than or equal to 999."
    ]
    assert cart.lines.get(sku=sku).quantity == 3

    shopper_client.post("/cart/update/", {"sku_id": other.pk, "quantity": 0})
    assert list(cart.lines.values_list("sku_id", flat=True)) == [sku.pk]

    response = shopper_client.post("/cart/remove/", {"sku_id": sku.pk})
    assert response["Location"] == "/cart/"
    assert not cart.lines.exists()


def test_updates_of_another_visitors_cart_are_impossible(client, buyer, sku):
    """The cart is found from the session only; a sku id names no one's cart."""
    stranger_cart = Cart.objects.create(shopper=buyer)
    CartLine.objects.create(cart=stranger_cart, sku=sku, quantity=2)

    client.post("/cart/update/", {"sku_id": sku.pk, "quantity": 7})
    client.post("/cart/remove/", {"sku_id": sku.pk})

    assert stranger_cart.lines.get().quantity == 2


def test_the_anonymous_cart_joins_the_shoppers_on_sign_in(client, buyer, sku):
    client.post("/cart/add/", {"sku_id": sku.pk, "quantity": 2})
    own = Cart.objects.create(shopper=buyer)
    CartLine.objects.create(cart=own, sku=sku, quantity=1)

    # Sign in the way the sign-in page does, on the browser's own session.
    engine = import_module(settings.SESSION_ENGINE)
    request = RequestFactory().get("/")
    request.session = engine.SessionStore(client.cookies["sessionid"].value)
    shopper_login(request, buyer)
    request.session.save()
    client.cookies["sessionid"] = request.session.session_key

    page = client.get("/cart/")
    assert [(line.sku.pk, line.quantity) for line in page.context["cart"].lines] == [(sku.pk, 3)]
    assert Cart.objects.count() == 1


def test_cart_flags_short_stock_and_off_shelf_lines(shopper_client, buyer, sku):
    short = SkuFactory(price_fen=1000, stock=1, spec_label="颜色:红")
    gone = SkuFactory(price_fen=2000, stock=5)
    cart = Cart.objects.create(shopper=buyer)
    for item, quantity in ((sku, 1), (short, 3), (gone, 1)):
        CartLine.objects.create(cart=cart, sku=item, quantity=quantity)
    gone.product.is_on_shelf = False
    gone.product.save()

    response = shopper_client.get("/cart/")

    flags = {
        line.sku.pk: (line.available, line.stock_short)
        for line in response.context["cart"].lines
    }
    assert flags == {sku.pk: (True, False), short.pk: (True, True), gone.pk: (False, False)}
    html = response.content.decode()
    assert "Only 1 left" in html
    assert "No longer available" in html
    assert "颜色:红" in html
    quote = response.context["cart"].quote
    # The off-shelf line is shown but not charged; the shopper's province is used.
    assert (quote.goods_fen, quote.shipping_fen, quote.total_fen) == (12900, 800, 13700)


@pytest.mark.parametrize("line_count", [1, 4])
def test_cart_page_query_count_does_not_grow_with_lines(
    shopper_client, buyer, sku, line_count, django_assert_num_queries
):
    cart = Cart.objects.create(shopper=buyer)
    CartLine.objects.create(cart=cart, sku=sku, quantity=1)
    for _ in range(line_count - 1):
        CartLine.objects.create(cart=cart, sku=SkuFactory(), quantity=1)

    # host → mall (search_path, domain, search_path), session, shopper, cart, lines, default
    # address, then the quote: SKUs, discount rule, shipping template, its region fees
    with django_assert_num_queries(12):
        response = shopper_client.get("/cart/")
    assert len(response.context["cart"].lines) == line_count


# ------------------------------------------------------------------ checkout


def test_checkout_sends_a_visitor_to_sign_in(client, sku):
    response = client.get(f"/checkout/?sku={sku.pk}&quantity=2")

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next=%2Fcheckout%2F%3Fsku%3D{sku.pk}%26quantity%3D2"
    response = client.post("/checkout/", {"sku_id": sku.pk, "quantity": 1})
    assert response["Location"] == "/login/?next=%2Fcheckout%2F"
    assert not Order.objects.exists()


def test_buy_now_shows_the_server_quote(shopper_client, buyer, sku):
    response = shopper_client.get(f"/checkout/?sku={sku.pk}&quantity=2")

    assert response.status_code == 200
    quote = response.context["quote"]
    assert (quote.goods_fen, quote.discount_fen, quote.shipping_fen, quote.total_fen) == (
        19800, 0, 800, 20600
    )
    form = checkout_form(response)
    assert form["mode"] == ["buy_now"]
    assert (form["sku_id"], form["quantity"]) == ([str(sku.pk)], ["2"])
    assert form["address_id"] == [str(buyer.addresses.get().pk)]
    assert form["expected_total_fen"] == ["20600"]
    assert uuid.UUID(form["client_token"][0])
    assert b'id="place-order"' in response.content
    # A fresh token per page view.
    again = checkout_form(shopper_client.get(f"/checkout/?sku={sku.pk}&quantity=2"))
    assert again["client_token"] != form["client_token"]


def test_checkout_without_an_address_links_to_a_new_one(client, sku):
    shopper = ShopperFactory()
    sign_in(client, shopper)

    response = client.get(f"/checkout/?sku={sku.pk}")

    assert response.status_code == 200
    html = response.content.decode()
    assert (
        'href="/me/addresses/new/?next=%2Fcheckout%2F%3Fsku%3D'
        f'{sku.pk}%26quantity%3D1"' in html
    )
    assert re.search(r'id="place-order"\s+disabled', html)


def test_choosing_another_address_requotes_shipping(shopper_client, buyer, sku):
    ShippingRegionFeeFactory(template=ShippingTemplate.objects.get(), fee_fen=2500)
    far = AddressFactory(shopper=buyer, province="新疆", is_default=False)

    response = shopper_client.get(f"/checkout/?sku={sku.pk}&address={far.pk}")

    assert response.context["address"] == far
    assert response.context["quote"].shipping_fen == 2500
    assert checkout_form(response)["address_id"] == [str(far.pk)]


def test_checkout_from_the_cart_places_the_ticked_lines(shopper_client, buyer, sku, mall):
    other = SkuFactory(price_fen=500, stock=5)
    cart = Cart.objects.create(shopper=buyer)
    CartLine.objects.create(cart=cart, sku=sku, quantity=2)
    CartLine.objects.create(cart=cart, sku=other, quantity=1)
    referrer = ShopperFactory()
    session = shopper_client.session
    session[REFERRER_SESSION_KEY] = referrer.share_code
    session.save()

    page = shopper_client.get(f"/checkout/?from=cart&line={sku.pk}")
    form = checkout_form(page)
    assert form["mode"] == ["cart"]
    assert (form["sku_id"], form["quantity"]) == ([str(sku.pk)], ["2"])
    response = shopper_client.post("/checkout/", {**form, "note": "ring twice"})

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.number}/"
    assert (order.total_fen, order.note, order.referrer) == (20600, "ring twice", referrer)
    sku.refresh_from_db()
    assert sku.stock == 8
    # Only the ordered line leaves the cart.
    assert list(cart.lines.values_list("sku_id", flat=True)) == [other.pk]


def test_an_empty_selection_goes_back_to_the_cart(shopper_client, buyer, sku):
    response = shopper_client.get("/checkout/?from=cart")

    assert response["Location"] == "/cart/"
    assert follow_messages(shopper_client, response) == ["Choose at least one item to check out."]
    assert shopper_client.get("/checkout/")["Location"] == "/cart/"


def test_buy_now_leaves_the_cart_alone(shopper_client, buyer, sku):
    cart = Cart.objects.create(shopper=buyer)
    CartLine.objects.create(cart=cart, sku=sku, quantity=1)
    form = checkout_form(shopper_client.get(f"/checkout/?sku={sku.pk}"))

    shopper_client.post("/checkout/", form)

    assert Order.objects.count() == 1
    assert cart.lines.count() == 1


def test_a_double_submit_places_one_order(shopper_client, sku):
    form = checkout_form(shopper_client.get(f"/checkout/?sku={sku.pk}"))

    first = shopper_client.post("/checkout/", form)
    second = shopper_client.post("/checkout/", form)

    order = Order.objects.get()
    assert first["Location"] == second["Location"] == f"/orders/{order.number}/"
    sku.refresh_from_db()
    assert sku.stock == 9


def test_prices_posted_by_the_browser_are_ignored(shopper_client, sku):
    form = checkout_form(shopper_client.get(f"/checkout/?sku={sku.pk}"))
    del form["expected_total_fen"]

    shopper_client.post(
        "/checkout/", {**form, "price_fen": "1", "unit_price_fen": "1", "total_fen": "1"}
    )

    order = Order.objects.get()
    assert (order.goods_fen, order.total_fen) == (9900, 10700)


def test_a_price_change_between_page_and_submit_is_explained(shopper_client, sku):
    form = checkout_form(shopper_client.get(f"/checkout/?sku={sku.pk}"))
    sku.price_fen = 12900
    sku.save()

    response = shopper_client.post("/checkout/", form)

    assert response.status_code == 409
    assert "Prices changed since you opened this page" in response.context["error"]
    assert response.context["quote"].total_fen == 13700
    assert checkout_form(response)["expected_total_fen"] == ["13700"]
    assert not Order.objects.exists()
    sku.refresh_from_db()
    assert sku.stock == 10


def test_out_of_stock_is_explained_and_changes_nothing(shopper_client, sku):
    form = checkout_form(shopper_client.get(f"/checkout/?sku={sku.pk}&quantity=10"))
    sku.stock = 3
    sku.save()

    response = shopper_client.post("/checkout/", form)

    assert response.status_code == 409
    assert response.context["error"].startswith("Not enough stock of")
    html = response.content.decode()
    assert "Only 3 left" in html
    assert 'id="stock-warning"' in html
    assert not Order.objects.exists()
    sku.refresh_from_db()
    assert sku.stock == 3


def test_someone_elses_address_is_refused(shopper_client, sku):
    form = checkout_form(shopper_client.get(f"/checkout/?sku={sku.pk}"))
    form["address_id"] = [str(AddressFactory().pk)]

    response = shopper_client.post("/checkout/", form)

    assert response.status_code == 400
    assert response.context["error"] == "Choose a delivery address."
    assert not Order.objects.exists()


def test_a_forged_selection_is_refused(shopper_client, sku):
    form = checkout_form(shopper_client.get(f"/checkout/?sku={sku.pk}"))
    form["quantity"] = ["many"]

    response = shopper_client.post("/checkout/", form)

    assert response["Location"] == "/cart/"
    assert not Order.objects.exists()


# ------------------------------------------------------------------ orders


@pytest.fixture
def order(place, sku):
    return place((sku, 2))


def test_order_list_has_tabs_and_pages(shopper_client, place, sku):
    orders = [place((sku, 1)) for _ in range(3)]
    order_mark_paid(order=orders[0], actor=Actor.system())

    response = shopper_client.get("/orders/")
    assert response.status_code == 200
    assert response.context["tab"] == "me"
    assert [o.number for o in response.context["page"]] == [o.number for o in reversed(orders)]
    assert [t["key"] for t in response.context["tabs"]] == [
        "all", "pending_payment", "paid", "shipped", "received", "after_sales"
    ]

    paid = shopper_client.get("/orders/?status=paid")
    assert [o.number for o in paid.context["page"]] == [orders[0].number]
    assert not list(shopper_client.get("/orders/?status=after_sales").context["page"])
    assert len(shopper_client.get("/orders/?status=bogus").context["page"]) == 3


def test_order_list_shows_only_my_orders(shopper_client, place, sku):
    stranger = AddressFactory().shopper
    place((sku, 1), shopper=stranger)

    response = shopper_client.get("/orders/")

    assert not list(response.context["page"])
    assert b'id="orders-empty"' in response.content


@pytest.mark.parametrize("order_count", [1, 5])
def test_order_list_query_count_does_not_grow_with_orders(
    shopper_client, place, sku, order_count, django_assert_num_queries
):
    for _ in range(order_count):
        place((sku, 1))

    # host → mall (search_path, domain, search_path), session, shopper, count, orders, lines
    with django_assert_num_queries(8):
        response = shopper_client.get("/orders/")
    assert len(response.context["page"]) == order_count


def test_order_page_shows_number_status_and_deadline(shopper_client, order):
    response = shopper_client.get(f"/orders/{order.number}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert f'<span id="order-number">{order.number}</span>' in html
    assert re.search(r'id="order-status"[^>]*>Pending payment<', html)
    assert "Waiting for payment" in html
    assert 0 < response.context["pay_seconds_left"] <= 30 * 60
    assert re.search(r'id="pay-countdown" data-seconds="\d+">(29|30):\d\d<', html)
    assert 'id="cancel-order"' in html
    assert 'id="confirm-receipt"' not in html
    assert 'id="request-after-sales"' not in html
    assert "¥206.00" in html


def test_another_shoppers_order_is_not_found(client, order):
    sign_in(client, ShopperFactory())

    assert client.get(f"/orders/{order.number}/").status_code == 404
    assert client.get("/orders/NOPE/").status_code == 404
    assert client.post(f"/orders/{order.number}/cancel/").status_code == 404
    assert client.post(f"/orders/{order.number}/confirm-receipt/").status_code == 404
    assert client.get(f"/orders/{order.number}/after-sales/").status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_order_pages_send_visitors_to_sign_in(client, order):
    response = client.get(f"/orders/{order.number}/")
    assert response["Location"] == f"/login/?next=%2Forders%2F{order.number}%2F"
    assert client.get("/orders/")["Location"] == "/login/?next=%2Forders%2F"


def test_cancel_from_the_page_gives_stock_back(shopper_client, order, sku):
    response = shopper_client.post(f"/orders/{order.number}/cancel/")

    assert response["Location"] == f"/orders/{order.number}/"
    assert follow_messages(shopper_client, response) == ["Order cancelled."]
    order.refresh_from_db()
    sku.refresh_from_db()
    assert (order.status, sku.stock) == (OrderStatus.CANCELLED, 10)


def test_cancelling_a_paid_order_is_refused(shopper_client, order, sku):
    order_mark_paid(order=order, actor=Actor.system())

    response = shopper_client.post(f"/orders/{order.number}/cancel/")

    assert follow_messages(shopper_client, response) == [
        "An order that is paid cannot become cancelled."
    ]
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_confirm_receipt_from_the_page(shopper_client, order, mall):
    order_mark_paid(order=order, actor=Actor.system())
    order_ship(order=order, staff_user_id=1, carrier="SF", tracking_number="SF123")
    page = shopper_client.get(f"/orders/{order.number}/")
    assert 'id="confirm-receipt"' in page.content.decode()
    assert "SF123" in page.content.decode()

    response = shopper_client.post(f"/orders/{order.number}/confirm-receipt/")

    assert follow_messages(shopper_client, response) == ["Thank you! Receipt confirmed."]
    order.refresh_from_db()
    assert order.status == OrderStatus.RECEIVED
    timeline = shopper_client.get(f"/orders/{order.number}/").context["timeline"]
    assert [c.to_status for c in timeline] == ["pending_payment", "paid", "shipped", "received"]


# ------------------------------------------------------------------ after-sales


def test_after_sales_with_a_photo_from_the_page(shopper_client, order, media):
    order_mark_paid(order=order, actor=Actor.system())
    line = order.lines.get()
    form = shopper_client.get(f"/orders/{order.number}/after-sales/")
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.content.decode()

    response = shopper_client.post(
        f"/orders/{order.number}/after-sales/",
        {f"qty_{line.pk}": "1", "reason": "damaged", "description": "cracked",
         "photos": [png_upload()]},
    )

    assert response["Location"] == f"/orders/{order.number}/"
    case = AfterSalesRequest.objects.get()
    assert (case.status, case.reason, case.description, case.refund_fen) == (
        "requested", "damaged", "cracked", 9900
    )
    photo = case.photos.get()
    assert photo.image.name.endswith(".png") and "photo" not in photo.image.name
    assert (media / connection.schema_name / photo.image.name).is_file()
    page = shopper_client.get(f"/orders/{order.number}/")
    html = page.content.decode()
    assert f'id="withdraw-{case.pk}"' in html
    assert "Arrived damaged" in html
    assert 'id="request-after-sales"' not in html


def test_a_non_image_is_refused_and_nothing_is_saved(shopper_client, order, media):
    order_mark_paid(order=order, actor=Actor.system())
    line = order.lines.get()
    fake = SimpleUploadedFile("photo.png", b"not an image at all", content_type="image/png")

    response = shopper_client.post(
        f"/orders/{order.number}/after-sales/",
        {f"qty_{line.pk}": "1", "reason": "damaged", "photos": [fake]},
    )

    assert response.status_code == 400
    assert response.context["errors"] == ["The file is not a valid JPEG, PNG or WebP image."]
    assert not AfterSalesRequest.objects.exists()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ["Choose what to return."]),
        ({"qty": "x"}, ["Enter whole numbers for the quantities."]),
        ({"qty": "3"}, ["Line {line}: between 1 and 2."]),
    ],
)
def test_after_sales_form_errors(shopper_client, order, fields, expected):
    order_mark_paid(order=order, actor=Actor.system())
    line = order.lines.get()
    data = {"reason": "damaged"}
    if "qty" in fields:
        data[f"qty_{line.pk}"] = fields["qty"]

    response = shopper_client.post(f"/orders/{order.number}/after-sales/", data)

    assert response.status_code == 400
    assert response.context["errors"] == [e.format(line=line.pk) for e in expected]
    assert not AfterSalesRequest.objects.exists()


def test_an_unpaid_order_takes_no_after_sales_request(shopper_client, order):
    response = shopper_client.get(f"/orders/{order.number}/after-sales/")
    assert response["Location"] == f"/orders/{order.number}/"

    line = order.lines.get()
    response = shopper_client.post(
        f"/orders/{order.number}/after-sales/", {f"qty_{line.pk}": "1", "reason": "damaged"}
    )
    assert response.status_code == 409
    assert response.context["errors"] == ["A pending payment order cannot be refunded."]
    assert not AfterSalesRequest.objects.exists()


def test_withdraw_from_the_page(shopper_client, order):
    order_mark_paid(order=order, actor=Actor.system())
    line = order.lines.get()
    sent = shopper_client.post(
        f"/orders/{order.number}/after-sales/", {f"qty_{line.pk}": "2", "reason": "other"}
    )
    assert follow_messages(shopper_client, sent) == [
        "Your request was sent. The mall will answer it soon."
    ]
    case = AfterSalesRequest.objects.get()

    response = shopper_client.post(f"/orders/{order.number}/after-sales/{case.pk}/withdraw/")

    assert follow_messages(shopper_client, response) == ["Your after-sales request was withdrawn."]
    case.refresh_from_db()
    assert case.status == AfterSalesStatus.WITHDRAWN
    again = shopper_client.post(f"/orders/{order.number}/after-sales/{case.pk}/withdraw/")
    assert follow_messages(shopper_client, again) == [
        "Only a case still waiting for a decision can be withdrawn."
    ]


def test_a_stranger_cannot_withdraw_my_case(client, order, place, sku):
    order_mark_paid(order=order, actor=Actor.system())
    line = order.lines.get()
    case = after_sales_request(
        order=order, shopper_id=order.shopper_id,
        items=[RefundItem(order_line_id=line.pk, quantity=1)], reason="other",
    )
    stranger = AddressFactory().shopper
    stranger_order = place((sku, 1), shopper=stranger)
    sign_in(client, stranger)

    assert client.post(
        f"/orders/{stranger_order.number}/after-sales/{case.pk}/withdraw/"
    ).status_code == 404
    assert client.post(f"/orders/{order.number}/after-sales/{case.pk}/withdraw/").status_code == 404
    case.refresh_from_db()
    assert case.status == AfterSalesStatus.REQUESTED
