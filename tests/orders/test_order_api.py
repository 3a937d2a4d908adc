"""The shopper API: cart, checkout quote, orders and after-sales cases."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from core.actors import Actor
from storefront.orders.after_sales import RefundItem, after_sales_request
from storefront.orders.models import (
    AfterSalesPhoto,
    AfterSalesRequest,
    AfterSalesStatus,
    Cart,
    CartLine,
    Order,
    OrderStatus,
)
from storefront.orders.services import order_mark_paid, order_ship
from storefront.web.shopper_session import REFERRER_SESSION_KEY, SESSION_KEY
from tests.conftest import host_client
from tests.factories.catalog import assert_no_metadata, noise_png, phone_photo
from tests.factories.orders import DiscountRuleFactory
from tests.factories.shoppers import AddressFactory, ShopperFactory

pytestmark = pytest.mark.django_db


def sign_in(client: Client, shopper) -> Client:
    session = client.session
    session[SESSION_KEY] = shopper.pk
    session.save()
    return client


@pytest.fixture
def api(mall_client, buyer):
    return sign_in(mall_client, buyer)


def post_json(client: Client, path: str, body: dict, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def png_upload(name: str = "photo.png") -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (16, 16), "blue").save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# ------------------------------------------------------------------ cart


def test_anonymous_cart_lives_in_the_session(mall_client, sku):
    assert mall_client.get("/api/v1/cart/").json() == {"lines": [], "item_count": 0, "quote": None}

    response = post_json(mall_client, "/api/v1/cart/items/", {"sku_id": sku.pk, "quantity": 2})

    assert response.status_code == 201
    body = response.json()
    assert body["item_count"] == 2
    [line] = body["lines"]
    assert (line["sku_id"], line["quantity"], line["unit_price_fen"], line["line_total_fen"]) == (
        sku.pk, 2, 9900, 19800
    )
    assert (line["available"], line["stock_short"]) == (True, False)
    assert body["quote"]["total_fen"] == 19800 + 800
    assert Cart.objects.get().session_key == mall_client.cookies["sessionid"].value
    assert mall_client.get("/api/v1/cart/").json() == body


def test_patch_and_delete_cart_items(api, buyer, sku):
    post_json(api, "/api/v1/cart/items/", {"sku_id": sku.pk, "quantity": 1})

    response = api.patch(
        f"/api/v1/cart/items/{sku.pk}/", json.dumps({"quantity": 5}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["lines"][0]["quantity"] == 5
    assert CartLine.objects.get(cart__shopper=buyer).quantity == 5

    response = api.patch(
        f"/api/v1/cart/items/{sku.pk}/", json.dumps({"quantity": 1000}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert CartLine.objects.get().quantity == 5

    response = api.delete(f"/api/v1/cart/items/{sku.pk}/")
    assert response.status_code == 200
    assert response.json()["lines"] == []
    assert not CartLine.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"sku_id": "x", "quantity": 1}, 400, "invalid"),
        ({"sku_id": 1, "quantity": 0}, 400, "invalid"),
        ({"sku_id": 2**64, "quantity": 1}, 400, "invalid"),
        ({"sku_id": 987654321, "quantity": 1}, 409, "sku_unavailable"),
    ],
)
def test_bad_cart_items_are_refused(api, sku, body, status, code):
    response = post_json(api, "/api/v1/cart/items/", body)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert not CartLine.objects.exists()


def test_unsafe_cart_requests_need_the_csrf_token(mall, sku):
    client = host_client(mall)
    client.handler.enforce_csrf_checks = True
    post_json(client, "/api/v1/cart/items/", {"sku_id": sku.pk, "quantity": 1})  # cookie now
    assert "sessionid" in client.cookies
    CartLine.objects.all().delete()

    response = post_json(client, "/api/v1/cart/items/", {"sku_id": sku.pk, "quantity": 1})

    assert response.status_code == 403
    assert not CartLine.objects.exists()


# ------------------------------------------------------------------ quote


def test_quote_ignores_client_prices_and_uses_the_address(api, buyer, sku):
    DiscountRuleFactory(threshold_fen=10000, amount_off_fen=1000)
    far = AddressFactory(shopper=buyer, province="新疆", is_default=False)

    response = post_json(
        api, "/api/v1/checkout/quote/",
        {"items": [{"sku_id": sku.pk, "quantity": 2, "price_fen": 1}], "total_fen": 1,
         "address_id": far.pk},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["goods_fen"], body["discount_fen"], body["shipping_fen"], body["total_fen"]) == (
        19800, 1000, 800, 19600
    )
    assert body["address_id"] == far.pk
    assert body["lines"][0]["unit_price_fen"] == 9900
    assert body["discount_rule"] == "满200减30"


def test_quote_refuses_someone_elses_address(api, sku):
    response = post_json(
        api, "/api/v1/checkout/quote/",
        {"items": [{"sku_id": sku.pk, "quantity": 1}], "address_id": AddressFactory().pk},
    )
    assert response.status_code == 404
    assert response.json()["code"] == "address_not_found"


# ------------------------------------------------------------------ orders


def place_body(sku, buyer, **extra) -> dict:
    return {
        "items": [{"sku_id": sku.pk, "quantity": 1}],
        "address_id": buyer.addresses.get().pk,
        **extra,
    }


def test_place_an_order_with_a_tampered_price(api, buyer, sku):
    body = place_body(sku, buyer, note="leave at door", client_token="tok-1")
    body["items"][0]["price_fen"] = 1
    body["items"][0]["unit_price_fen"] = 1
    body["total_fen"] = 1

    response = post_json(api, "/api/v1/orders/", body)

    assert response.status_code == 201
    data = response.json()
    order = Order.objects.get()
    assert data["number"] == order.number
    assert (data["goods_fen"], data["shipping_fen"], data["total_fen"]) == (9900, 800, 10700)
    assert (order.total_fen, order.note, order.client_token) == (10700, "leave at door", "tok-1")
    assert data["status"] == "pending_payment"
    assert data["actions"] == {
        "can_cancel": True, "can_confirm_receipt": False, "can_request_after_sales": False
    }
    assert [step["to_status"] for step in data["timeline"]] == ["pending_payment"]
    assert data["address"]["city"] == "杭州"


def test_idempotency_key_places_one_order(api, buyer, sku, mall):
    referrer = ShopperFactory()
    session = api.session
    session[REFERRER_SESSION_KEY] = referrer.share_code
    session.save()
    body = place_body(sku, buyer)

    first = post_json(api, "/api/v1/orders/", body, HTTP_IDEMPOTENCY_KEY="key-42")
    second = post_json(api, "/api/v1/orders/", body, HTTP_IDEMPOTENCY_KEY="key-42")

    assert first.status_code == second.status_code == 201
    assert first.json()["number"] == second.json()["number"]
    order = Order.objects.get()
    assert (order.client_token, order.referrer) == ("key-42", referrer)
    sku.refresh_from_db()
    assert sku.stock == 9


def test_an_overlong_idempotency_key_is_refused(api, buyer, sku):
    response = post_json(api, "/api/v1/orders/", place_body(sku, buyer),
                         HTTP_IDEMPOTENCY_KEY="k" * 65)
    assert response.status_code == 400
    assert "client_token" in response.json()["fields"]
    assert not Order.objects.exists()


def test_a_changed_price_is_a_409(api, buyer, sku):
    response = post_json(api, "/api/v1/orders/", place_body(sku, buyer, expected_total_fen=100))

    assert response.status_code == 409
    assert response.json() == {
        "code": "price_changed",
        "message": "Prices changed since you looked; please review your order.",
        "fields": {"expected_total_fen": ["10700"]},
    }
    assert not Order.objects.exists()


def test_out_of_stock_is_a_409_and_changes_nothing(api, buyer, sku):
    body = place_body(sku, buyer)
    body["items"][0]["quantity"] = 11

    response = post_json(api, "/api/v1/orders/", body)

    assert response.status_code == 409
    assert response.json()["code"] == "out_of_stock"
    sku.refresh_from_db()
    assert sku.stock == 10
    assert not Order.objects.exists()


def test_orders_need_a_signed_in_shopper(mall_client, buyer, sku):
    assert mall_client.get("/api/v1/orders/").status_code == 401
    response = post_json(mall_client, "/api/v1/orders/", place_body(sku, buyer))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert not Order.objects.exists()


def test_order_list_pages_and_filters(api, place, sku):
    sku.stock = 100
    sku.save()
    orders = [place((sku, 1)) for _ in range(12)]
    order_mark_paid(order=orders[0], actor=Actor.system())
    place((sku, 1), shopper=AddressFactory().shopper)  # a stranger's

    first = api.get("/api/v1/orders/").json()
    assert first["count"] == 12
    assert len(first["results"]) == 10
    assert first["results"][0]["number"] == orders[-1].number
    second = api.get("/api/v1/orders/?page=2").json()
    assert len(second["results"]) == 2

    paid = api.get("/api/v1/orders/?status=paid").json()
    assert [o["number"] for o in paid["results"]] == [orders[0].number]
    assert paid["results"][0]["status_label"] == "Paid"

    response = api.get("/api/v1/orders/?status=nope")
    assert response.status_code == 400
    assert "status" in response.json()["fields"]


def test_another_shoppers_order_is_a_404_everywhere(mall_client, place, sku):
    order = place((sku, 1))
    order_mark_paid(order=order, actor=Actor.system())
    line = order.lines.get()
    stranger = sign_in(mall_client, AddressFactory().shopper)

    for method, path in [
        ("get", f"/api/v1/orders/{order.number}/"),
        ("post", f"/api/v1/orders/{order.number}/cancel/"),
        ("post", f"/api/v1/orders/{order.number}/confirm-receipt/"),
        ("get", f"/api/v1/orders/{order.number}/after-sales/"),
    ]:
        response = getattr(stranger, method)(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "order_not_found"
    response = post_json(
        stranger, f"/api/v1/orders/{order.number}/after-sales/",
        {"items": [{"order_line_id": line.pk, "quantity": 1}], "reason": "other"},
    )
    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert not AfterSalesRequest.objects.exists()


def test_cancel_and_its_refusal(api, place, sku):
    order = place((sku, 2))

    response = api.post(f"/api/v1/orders/{order.number}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    sku.refresh_from_db()
    assert sku.stock == 10

    again = api.post(f"/api/v1/orders/{order.number}/cancel/")
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_order_transition"
    assert again.json()["message"] == "An order that is cancelled cannot become cancelled."


def test_confirm_receipt(api, place, sku, mall):
    order = place((sku, 1))
    early = api.post(f"/api/v1/orders/{order.number}/confirm-receipt/")
    assert early.status_code == 409
    order_mark_paid(order=order, actor=Actor.system())
    order_ship(order=order, staff_user_id=1, carrier="SF", tracking_number="SF1")

    response = api.post(f"/api/v1/orders/{order.number}/confirm-receipt/")

    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["carrier"], data["tracking_number"]) == ("received", "SF", "SF1")
    assert data["actions"]["can_request_after_sales"] is True


# ------------------------------------------------------------------ after-sales


def test_after_sales_with_photos_over_multipart(api, place, sku, media):
    order = place((sku, 2))
    order_mark_paid(order=order, actor=Actor.system())
    line = order.lines.get()

    response = api.post(
        f"/api/v1/orders/{order.number}/after-sales/",
        {"items": json.dumps([{"order_line_id": line.pk, "quantity": 1}]),
         "reason": "damaged", "description": "the box was crushed",
         "photos": [png_upload(), png_upload("b.png")]},
    )

    assert response.status_code == 201, response.json()
    data = response.json()
    case = AfterSalesRequest.objects.get()
    assert data["id"] == case.pk
    assert (data["status"], data["reason"], data["refund_fen"]) == ("requested", "damaged", 9900)
    assert data["lines"] == [
        {"order_line_id": line.pk, "title": line.title, "quantity": 1, "refund_fen": 9900}
    ]
    assert len(data["photos"]) == 2 and all(url.endswith(".png") for url in data["photos"])
    listed = api.get(f"/api/v1/orders/{order.number}/after-sales/").json()
    assert [c["id"] for c in listed] == [case.pk]
    detail = api.get(f"/api/v1/orders/{order.number}/").json()
    assert detail["after_sales"][0]["status"] == "requested"
    assert detail["actions"]["can_request_after_sales"] is False


def _after_sales_with_photo(api, place, sku, photo):
    """A paid order's after-sales request for one unit, with `photo`, over multipart."""
    order = place((sku, 1))
    order_mark_paid(order=order, actor=Actor.system())
    return api.post(
        f"/api/v1/orders/{order.number}/after-sales/",
        {"items": json.dumps([{"order_line_id": order.lines.get().pk, "quantity": 1}]),
         "reason": "damaged", "photos": [photo]},
    )


def test_an_after_sales_photo_is_stored_and_served_without_its_gps(api, place, sku, media,
                                                                    mall):
    response = _after_sales_with_photo(api, place, sku, phone_photo())

    assert response.status_code == 201, response.json()
    photo = AfterSalesPhoto.objects.get()
    [url] = response.json()["photos"]
    assert url == f"/media/{mall.schema_name}/{photo.image.name}"
    with photo.image.open("rb") as stored:
        image = assert_no_metadata(stored.read())
    assert (image.format, image.size) == ("JPEG", (40, 60))  # upright


@pytest.mark.parametrize(
    ("setting", "body"),
    [
        ("UPLOAD_MAX_IMAGE_BYTES", {"code": "image_invalid",
                                    "message": "The image is larger than 1 MB.",
                                    "fields": {"photos": ["The image is larger than 1 MB."]}}),
        ("UPLOAD_MAX_REQUEST_BYTES", {"code": "request_too_large",
                                      "message": "The upload is larger than 1 MB.",
                                      "fields": {}}),
    ],
)
def test_an_oversize_after_sales_photo_is_a_clear_400(api, place, sku, media, settings,
                                                      setting, body):
    setattr(settings, setting, 2**20)

    response = _after_sales_with_photo(api, place, sku, noise_png())

    assert (response.status_code, response.json()) == (400, body)
    assert not AfterSalesRequest.objects.exists()
    assert not [path for path in media.rglob("*") if path.is_file()]


def test_after_sales_over_json_without_photos(api, place, sku):
    order = place((sku, 1))
    order_mark_paid(order=order, actor=Actor.system())
    line = order.lines.get()

    response = post_json(
        api, f"/api/v1/orders/{order.number}/after-sales/",
        {"items": [{"order_line_id": line.pk, "quantity": 1}], "reason": "no_longer_needed"},
    )

    assert response.status_code == 201
    # Nothing shipped and everything returned: shipping is refunded too.
    assert response.json()["refund_fen"] == 10700


def test_a_non_image_photo_is_refused(api, place, sku, media):
    order = place((sku, 1))
    order_mark_paid(order=order, actor=Actor.system())
    line = order.lines.get()
    fake = SimpleUploadedFile("x.png", b"%PDF-1.4 not an image", content_type="image/png")

    response = api.post(
        f"/api/v1/orders/{order.number}/after-sales/",
        {"items": json.dumps([{"order_line_id": line.pk, "quantity": 1}]),
         "reason": "damaged", "photos": [fake]},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "image_invalid"
    assert response.json()["fields"] == {
        "photos": ["The file is not a valid JPEG, PNG or WebP image."]
    }
    assert not AfterSalesRequest.objects.exists()


@pytest.mark.parametrize(
    ("items", "reason", "status", "field"),
    [
        ("not json", "damaged", 400, "items"),
        ([], "damaged", 400, "items"),
        ([{"order_line_id": "LINE", "quantity": 1}], "because", 400, "reason"),
        ([{"order_line_id": "LINE", "quantity": 5}], "damaged", 400, "items"),
        ([{"order_line_id": 999999, "quantity": 1}], "damaged", 400, "items"),
    ],
)
def test_bad_after_sales_requests(api, place, sku, items, reason, status, field):
    order = place((sku, 1))
    order_mark_paid(order=order, actor=Actor.system())
    line = order.lines.get()
    if isinstance(items, list):
        items = json.dumps([
            {**item, "order_line_id": line.pk if item["order_line_id"] == "LINE"
             else item["order_line_id"]}
            for item in items
        ])

    response = api.post(
        f"/api/v1/orders/{order.number}/after-sales/", {"items": items, "reason": reason}
    )

    assert response.status_code == status
    assert field in response.json()["fields"]
    assert not AfterSalesRequest.objects.exists()


def test_too_many_photos_are_refused(api, place, sku):
    order = place((sku, 1))
    order_mark_paid(order=order, actor=Actor.system())
    line = order.lines.get()

    response = api.post(
        f"/api/v1/orders/{order.number}/after-sales/",
        {"items": json.dumps([{"order_line_id": line.pk, "quantity": 1}]),
         "reason": "damaged", "photos": [png_upload(f"{n}.png") for n in range(7)]},
    )

    assert response.status_code == 400
    assert "photos" in response.json()["fields"]
    assert not AfterSalesRequest.objects.exists()


def test_withdraw_over_the_api(api, place, sku):
    order = place((sku, 1))
    order_mark_paid(order=order, actor=Actor.system())
    case = after_sales_request(
        order=order, shopper_id=order.shopper_id,
        items=[RefundItem(order_line_id=order.lines.get().pk, quantity=1)], reason="other",
    )

    response = api.post(f"/api/v1/after-sales/{case.pk}/withdraw/")
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"

    again = api.post(f"/api/v1/after-sales/{case.pk}/withdraw/")
    assert again.status_code == 409
    assert again.json()["code"] == "after_sales_conflict"
    assert api.post("/api/v1/after-sales/987654/withdraw/").status_code == 404


def test_a_stranger_cannot_withdraw_my_case(mall_client, place, sku):
    order = place((sku, 1))
    order_mark_paid(order=order, actor=Actor.system())
    case = after_sales_request(
        order=order, shopper_id=order.shopper_id,
        items=[RefundItem(order_line_id=order.lines.get().pk, quantity=1)], reason="other",
    )
    stranger = sign_in(mall_client, ShopperFactory())

    response = stranger.post(f"/api/v1/after-sales/{case.pk}/withdraw/")

    assert response.status_code == 404
    assert response.json()["code"] == "after_sales_not_found"
    case.refresh_from_db()
    assert case.status == AfterSalesStatus.REQUESTED


def test_the_schema_describes_the_shopper_api(mall_client, mall):
    response = mall_client.get("/api/schema/?format=json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ["/api/v1/cart/", "/api/v1/cart/items/", "/api/v1/cart/items/{sku_id}/",
                 "/api/v1/checkout/quote/", "/api/v1/orders/", "/api/v1/orders/{number}/",
                 "/api/v1/orders/{number}/after-sales/",
                 "/api/v1/after-sales/{request_id}/withdraw/"]:
        assert path in paths, path
    assert "Idempotency-Key" in json.dumps(paths["/api/v1/orders/"]["post"]["parameters"])
