import pytest
from django.contrib.auth import get_user_model

from core.actors import Actor
from storefront.orders.models import OrderStatus
from storefront.orders.services import order_mark_paid
from tests.conftest import OWNER_PASSWORD


@pytest.fixture
def owner_client(mall_client):
    assert mall_client.post(
        "/console/login/", {"username": "owner@example.com", "password": OWNER_PASSWORD}
    ).status_code == 302
    return mall_client


def test_staff_ship_a_paid_order_from_the_console(owner_client, place, sku):
    order = place((sku, 1))
    order_mark_paid(order=order, actor=Actor.system())
    page = owner_client.get("/console/orders/", HTTP_ACCEPT_LANGUAGE="en")
    assert order.number in page.content.decode()

    response = owner_client.post(
        f"/console/orders/{order.number}/ship/", {"carrier": "顺丰", "tracking_number": "SF123"}
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == ("shipped", "顺丰", "SF123")
    assert order.status_changes.last().actor_kind == "staff"


def test_shipping_an_unpaid_order_changes_nothing(owner_client, place, sku):
    order = place((sku, 1))
    owner_client.post(
        f"/console/orders/{order.number}/ship/", {"carrier": "顺丰", "tracking_number": "SF1"}
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_staff_without_permission_cannot_ship(mall_client, place, sku):
    order = place((sku, 1))
    order_mark_paid(order=order, actor=Actor.system())
    get_user_model().objects.create_user(
        username="clerk@example.com", password=OWNER_PASSWORD, is_staff=True
    )
    mall_client.post("/console/login/", {"username": "clerk@example.com",
                                         "password": OWNER_PASSWORD})
    assert mall_client.get("/console/orders/").status_code == 403
    assert mall_client.post(
        f"/console/orders/{order.number}/ship/", {"carrier": "x", "tracking_number": "y"}
    ).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_staff_decide_after_sales_from_the_console(owner_client, place, sku, buyer):
    from storefront.orders.after_sales import RefundItem, after_sales_request
    from storefront.orders.models import AfterSalesRequest

    order = place((sku, 2))
    order_mark_paid(order=order, actor=Actor.system())
    case = after_sales_request(
        order=order, shopper_id=buyer.pk, items=[RefundItem(order.lines.get().pk, 1)],
        reason="damaged",
    )
    listed = owner_client.get("/console/after-sales/")
    assert f'id="case-{case.pk}"' in listed.content.decode()
    page = owner_client.get(f"/console/after-sales/{case.pk}/")
    assert f'id="approve-{case.pk}"' in page.content.decode()

    rejected = owner_client.post(f"/console/after-sales/{case.pk}/decide/",
                                 {"decision": "reject", "note": ""})
    assert rejected.status_code == 302
    assert AfterSalesRequest.objects.get(pk=case.pk).status == "requested"  # a note is required

    owner_client.post(f"/console/after-sales/{case.pk}/decide/",
                      {"decision": "approve", "note": "sorry"})
    assert AfterSalesRequest.objects.get(pk=case.pk).status == "approved"
