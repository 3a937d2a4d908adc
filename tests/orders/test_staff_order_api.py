"""The staff API for orders and after-sales cases."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django_tenants.utils import schema_context

from core.actors import Actor
from storefront.orders.after_sales import RefundItem, after_sales_request
from storefront.orders.models import AfterSalesStatus, Order, OrderStatus, OrderStatusChange
from storefront.orders.services import order_mark_paid
from storefront.web.shopper_session import SESSION_KEY
from tests.conftest import host_client
from tests.factories.shoppers import AddressFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


ORDER_PERMISSIONS = ("view_order", "change_order", "view_aftersalesrequest",
                     "change_aftersalesrequest")


def make_staff(
    email: str = "clerk@mall.test", *, is_staff: bool = True,
    permissions: tuple[str, ...] = ORDER_PERMISSIONS,
):
    user = User.objects.create_user(
        username=email, email=email, password="a-long-password-123", is_staff=is_staff
    )
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="orders", codename__in=permissions)
    )
    return user


@pytest.fixture
def staff(mall_client, mall):
    mall_client.force_login(make_staff())
    return mall_client


def post_json(client, path: str, body: dict):
    return client.post(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def paid_order(place, sku):
    order = place((sku, 2))
    return order_mark_paid(order=order, actor=Actor.system())


@pytest.fixture
def case(paid_order):
    return after_sales_request(
        order=paid_order, shopper_id=paid_order.shopper_id,
        items=[RefundItem(order_line_id=paid_order.lines.get().pk, quantity=1)],
        reason="damaged", description="scratched",
    )


# ------------------------------------------------------------------ who may call


def staff_endpoints(number: str, case_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", "/api/v1/console/orders/", None),
        ("get", f"/api/v1/console/orders/{number}/", None),
        ("post", f"/api/v1/console/orders/{number}/ship/",
         {"carrier": "SF", "tracking_number": "SF1"}),
        ("get", "/api/v1/console/after-sales/", None),
        ("post", f"/api/v1/console/after-sales/{case_id}/approve/", {"note": "ok"}),
        ("post", f"/api/v1/console/after-sales/{case_id}/reject/", {"note": "no"}),
    ]


def call(client, method: str, path: str, body: dict | None):
    if method == "get":
        return client.get(path)
    return post_json(client, path, body or {})


def assert_nothing_changed(order: Order, case) -> None:
    order.refresh_from_db()
    case.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert not order.tracking_number
    assert case.status == AfterSalesStatus.REQUESTED


def test_anonymous_is_refused(mall_client, paid_order, case):
    for method, path, body in staff_endpoints(paid_order.number, case.pk):
        response = call(mall_client, method, path, body)
        assert response.status_code == 403, path
        assert response.json()["code"] == "not_authenticated"
    assert_nothing_changed(paid_order, case)


def test_a_shopper_session_is_refused(mall_client, paid_order, case):
    session = mall_client.session
    session[SESSION_KEY] = paid_order.shopper_id
    session.save()

    for method, path, body in staff_endpoints(paid_order.number, case.pk):
        assert call(mall_client, method, path, body).status_code == 403, path
    assert_nothing_changed(paid_order, case)


def test_a_user_who_is_not_staff_is_refused(mall_client, paid_order, case):
    mall_client.force_login(make_staff("customer@mall.test", is_staff=False))

    for method, path, body in staff_endpoints(paid_order.number, case.pk):
        response = call(mall_client, method, path, body)
        assert response.status_code == 403, path
        assert response.json()["message"] == "Staff only."
    assert_nothing_changed(paid_order, case)


def test_staff_without_the_permission_are_refused(mall_client, paid_order, case):
    mall_client.force_login(make_staff("packer@mall.test", permissions=()))

    for method, path, body in staff_endpoints(paid_order.number, case.pk):
        response = call(mall_client, method, path, body)
        assert response.status_code == 403, path
        assert response.json()["message"] == "You do not have permission to do this."
    assert_nothing_changed(paid_order, case)


def test_viewing_does_not_allow_changing(mall_client, paid_order, case):
    mall_client.force_login(
        make_staff("viewer@mall.test", permissions=("view_order", "view_aftersalesrequest"))
    )

    for method, path, body in staff_endpoints(paid_order.number, case.pk):
        expected = 200 if method == "get" else 403
        assert call(mall_client, method, path, body).status_code == expected, path
    assert_nothing_changed(paid_order, case)


def test_the_owner_may_do_everything(mall_client, paid_order):
    mall_client.force_login(User.objects.get(username="owner@example.com"))

    response = post_json(
        mall_client, f"/api/v1/console/orders/{paid_order.number}/ship/",
        {"carrier": "SF", "tracking_number": "SF9"},
    )
    assert response.status_code == 200


def test_staff_of_another_mall_are_nobody_here(other_mall, mall, paid_order, case):
    """Staff of `other_mall` hold a valid session there; here its cookie is worth nothing.
    (`other_mall` is made first: a signup leaves the connection on the public schema.)"""
    other_client = host_client(other_mall)
    with schema_context(other_mall.schema_name):
        other_client.force_login(make_staff("boss@other.test"))
        assert other_client.get("/api/v1/console/orders/").status_code == 200
    connection.set_tenant(mall)
    client = host_client(mall)
    client.cookies["sessionid"] = other_client.cookies["sessionid"].value

    for method, path, body in staff_endpoints(paid_order.number, case.pk):
        assert call(client, method, path, body).status_code == 403, path
    assert_nothing_changed(paid_order, case)


# ------------------------------------------------------------------ orders


def test_list_filters_searches_and_pages(staff, place, sku):
    orders = [place((sku, 1)) for _ in range(3)]
    order_mark_paid(order=orders[1], actor=Actor.system())
    place((sku, 1), shopper=AddressFactory().shopper)

    everything = staff.get("/api/v1/console/orders/").json()
    assert everything["count"] == 4

    paid = staff.get("/api/v1/console/orders/?status=paid").json()
    assert [o["number"] for o in paid["results"]] == [orders[1].number]
    row = paid["results"][0]
    assert (row["status"], row["status_label"], row["item_count"], row["total_fen"]) == (
        "paid", "Paid", 1, 10700
    )
    assert row["shopper"]["id"] == orders[1].shopper_id

    by_number = staff.get(f"/api/v1/console/orders/?q={orders[2].number}").json()
    assert [o["number"] for o in by_number["results"]] == [orders[2].number]
    prefix = staff.get(f"/api/v1/console/orders/?q={orders[0].number[:8]}").json()
    assert prefix["count"] == 4
    assert staff.get("/api/v1/console/orders/?q=1999").json()["count"] == 0

    page = staff.get("/api/v1/console/orders/?page_size=3&page=2").json()
    assert (page["count"], len(page["results"])) == (4, 1)
    assert staff.get("/api/v1/console/orders/?status=lost").status_code == 400


def test_detail_has_lines_timeline_and_after_sales(staff, paid_order, case):
    response = staff.get(f"/api/v1/console/orders/{paid_order.number}/")

    assert response.status_code == 200
    data = response.json()
    [line] = data["lines"]
    assert (line["quantity"], line["unit_price_fen"], line["paid_fen"]) == (2, 9900, 19800)
    assert [(s["from_status"], s["to_status"]) for s in data["timeline"]] == [
        ("", "pending_payment"), ("pending_payment", "paid")
    ]
    [listed_case] = data["after_sales"]
    assert (listed_case["id"], listed_case["status"], listed_case["reason_label"]) == (
        case.pk, "requested", "Arrived damaged"
    )
    assert data["address"]["recipient"] == "张三"
    assert staff.get("/api/v1/console/orders/NOPE/").status_code == 404


def test_ship_a_paid_order(staff, paid_order):
    response = post_json(
        staff, f"/api/v1/console/orders/{paid_order.number}/ship/",
        {"carrier": "顺丰", "tracking_number": "SF100200300"},
    )

    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["carrier"], data["tracking_number"]) == (
        "shipped", "顺丰", "SF100200300"
    )
    change = OrderStatusChange.objects.filter(order=paid_order).last()
    staff_user = User.objects.get(username="clerk@mall.test")
    assert (change.to_status, change.actor_kind, change.actor_id) == (
        "shipped", "staff", staff_user.pk
    )


def test_shipping_an_unpaid_order_is_a_409_and_changes_nothing(staff, place, sku):
    order = place((sku, 1))

    response = post_json(
        staff, f"/api/v1/console/orders/{order.number}/ship/",
        {"carrier": "SF", "tracking_number": "SF1"},
    )

    assert response.status_code == 409
    assert response.json()["code"] == "illegal_order_transition"
    assert response.json()["message"] == "An order that is pending payment cannot become shipped."
    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == (
        OrderStatus.PENDING_PAYMENT, "", ""
    )
    assert order.status_changes.count() == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"carrier": "SF"}, {"carrier": "SF", "tracking_number": "x" * 41},
     {"carrier": "x" * 31, "tracking_number": "1"}],
)
def test_ship_needs_valid_details(staff, paid_order, body):
    response = post_json(staff, f"/api/v1/console/orders/{paid_order.number}/ship/", body)

    assert response.status_code == 400
    paid_order.refresh_from_db()
    assert paid_order.status == OrderStatus.PAID


# ------------------------------------------------------------------ after-sales


def test_after_sales_list_and_filter(staff, case):
    data = staff.get("/api/v1/console/after-sales/").json()
    assert [c["id"] for c in data["results"]] == [case.pk]
    assert data["results"][0]["order_number"] == case.order.number
    assert staff.get("/api/v1/console/after-sales/?status=rejected").json()["count"] == 0
    assert staff.get("/api/v1/console/after-sales/?status=odd").status_code == 400


def test_approve_then_refuse_a_second_decision(staff, case):
    response = post_json(staff, f"/api/v1/console/after-sales/{case.pk}/approve/", {"note": "ok"})

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["staff_note"]) == ("approved", "ok")
    case.refresh_from_db()
    assert case.decided_by.username == "clerk@mall.test"

    again = post_json(staff, f"/api/v1/console/after-sales/{case.pk}/reject/", {"note": "no"})
    assert again.status_code == 409
    assert again.json()["code"] == "after_sales_conflict"
    case.refresh_from_db()
    assert case.status == AfterSalesStatus.APPROVED


def test_reject_needs_a_reason(staff, case):
    response = post_json(staff, f"/api/v1/console/after-sales/{case.pk}/reject/", {"note": ""})
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.status == AfterSalesStatus.REQUESTED

    response = post_json(
        staff, f"/api/v1/console/after-sales/{case.pk}/reject/", {"note": "used item"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"


def test_unknown_cases_are_a_404(staff, mall):
    for action in ("approve", "reject"):
        response = post_json(staff, f"/api/v1/console/after-sales/98765/{action}/", {"note": "x"})
        assert response.status_code == 404
        assert response.json()["code"] == "after_sales_not_found"
