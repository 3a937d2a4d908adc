"""The console's 订单 and 售后 areas: pages and staff API, who may use them, what they
show (filters, tabs, timeline, money), shipping one order or a file of them, after-sales
decisions, the export, their audit rows and the bad input they refuse."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from core.actors import Actor
from merchant_console.models import AuditEntry
from storefront.distribution import plans, services
from storefront.distribution.models import Commission
from storefront.orders.after_sales import RefundItem, after_sales_refund_failed, after_sales_request
from storefront.orders.models import AfterSalesRequest, Order, OrderStatus
from storefront.orders.services import CheckoutItem, order_mark_paid, order_place
from tests.conftest import host_client
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory
from tests.factories.shoppers import AddressFactory, ShopperFactory

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "operations", "finance", "customer_service"]
MAY_VIEW = set(ROLES)
MAY_WORK = {"owner", "admin", "operations", "customer_service"}
SEES_COMMISSIONS = {"owner", "admin", "operations", "finance"}


# ------------------------------------------------------------------ data


def _place(shopper, sku, quantity=1, referrer_code=None) -> Order:
    return order_place(shopper=shopper, items=[CheckoutItem(sku_id=sku.pk, quantity=quantity)],
                       address_id=shopper.addresses.first().pk, referrer_code=referrer_code)


@pytest.fixture
def shop(mall):
    """Five orders of three shoppers: two paid through a tier-2 distributor's link (10% and
    5% commissions), one paid without, one unpaid, one shipped; and an after-sales case."""
    ShippingTemplateFactory(default_fee_fen=0, free_above_fen=0)
    sku = SkuFactory(price_fen=10000, stock=100)
    plan = plans.plan_create({"name": "标准", "tiers": 2, "rates_bp": [1000, 500]})
    plans.plan_activate(plan_id=plan.pk)
    upline = services.distributor_assign(shopper=ShopperFactory(), staff_id=1)
    seller = services.distributor_assign(shopper=ShopperFactory(nickname="小美"), staff_id=1,
                                         recruiter=upline)
    alice = AddressFactory(shopper=ShopperFactory(phone="13911112222", nickname="Alice")).shopper
    bob = AddressFactory(shopper=ShopperFactory(phone="13733334444", nickname="Bob")).shopper
    referred = [_place(alice, sku, 2, referrer_code=seller.shopper.share_code),
                _place(bob, sku, 1, referrer_code=seller.shopper.share_code)]
    for order in referred:
        order_mark_paid(order=order, actor=Actor.system())
    plain = _place(bob, sku, 3)
    order_mark_paid(order=plain, actor=Actor.system())
    unpaid = _place(alice, sku, 1)
    shipped = _place(bob, sku, 1)
    order_mark_paid(order=shipped, actor=Actor.system())
    Order.objects.filter(pk=shipped.pk).update(status=OrderStatus.PAID)
    from storefront.orders.services import order_ship
    order_ship(order=shipped, staff_user_id=1, carrier="圆通", tracking_number="YT0001")
    case = after_sales_request(order=referred[0], shopper_id=alice.pk, reason="damaged",
                               items=[RefundItem(referred[0].lines.get().pk, 1)],
                               description="box crushed")
    return {"sku": sku, "seller": seller, "upline": upline, "alice": alice, "bob": bob,
            "referred": referred, "plain": plain, "unpaid": unpaid, "shipped": shipped,
            "case": case}


def audit_rows(action: str):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def post_json(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


# ------------------------------------------------------------------ permission matrix


def pages(shop) -> list[tuple[str, str, dict | None, set[str]]]:
    number = shop["plain"].number
    case = shop["case"].pk
    return [
        ("get", "/console/orders/", None, MAY_VIEW),
        ("get", f"/console/orders/{number}/", None, MAY_VIEW),
        ("get", "/console/orders/export/?kind=csv", None, MAY_VIEW),
        ("get", "/console/orders/bulk-ship/", None, MAY_WORK),
        ("post", f"/console/orders/{number}/ship/",
         {"carrier": "顺丰", "tracking_number": "SF1"}, MAY_WORK),
        ("get", "/console/after-sales/", None, MAY_VIEW),
        ("get", f"/console/after-sales/{case}/", None, MAY_VIEW),
        ("post", f"/console/after-sales/{case}/decide/",
         {"decision": "reject", "note": "no"}, MAY_WORK),
    ]


def endpoints(shop) -> list[tuple[str, str, dict | None, set[str]]]:
    number = shop["plain"].number
    case = shop["case"].pk
    return [
        ("get", "/api/v1/console/orders/", None, MAY_VIEW),
        ("get", "/api/v1/console/orders/counts/", None, MAY_VIEW),
        ("get", f"/api/v1/console/orders/{number}/", None, MAY_VIEW),
        ("get", "/api/v1/console/orders/export/?kind=csv", None, MAY_VIEW),
        ("post", f"/api/v1/console/orders/{number}/ship/",
         {"carrier": "顺丰", "tracking_number": "SF1"}, MAY_WORK),
        ("post", "/api/v1/console/orders/bulk-ship/", "file", MAY_WORK),
        ("get", "/api/v1/console/after-sales/", None, MAY_VIEW),
        ("get", "/api/v1/console/after-sales/counts/", None, MAY_VIEW),
        ("get", f"/api/v1/console/after-sales/{case}/", None, MAY_VIEW),
        ("post", f"/api/v1/console/after-sales/{case}/approve/", {"note": ""}, MAY_WORK),
        ("post", f"/api/v1/console/after-sales/{case}/reject/", {"note": "no"}, MAY_WORK),
        ("post", f"/api/v1/console/after-sales/{case}/retry/", {"note": ""}, MAY_WORK),
    ]


def _call(client, method, path, body):
    if body == "file":
        return client.post(path, {"file": SimpleUploadedFile(
            "ship.csv", b"order_number,carrier,tracking_number\nNOPE,SF,1\n")})
    if method == "get":
        return client.get(path)
    if path.startswith("/api/"):
        return post_json(client, path, body)
    return client.post(path, body)


def _allowed(status: int) -> bool:
    return status not in (302, 403)


@pytest.mark.parametrize("role", ROLES)
def test_pages_by_role(shop, staff_client, role):
    client = staff_client(role)
    for method, path, body, allowed in pages(shop):
        sid = connection.savepoint()
        response = _call(client, method, path, body)
        connection.savepoint_rollback(sid)
        if role in allowed:
            assert response.status_code in (200, 302), (path, response.status_code)
            if response.status_code == 302:
                assert not response.url.startswith("/console/login/"), path
        else:
            assert response.status_code == 403, (role, path, response.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_api_by_role(shop, staff_client, role):
    client = staff_client(role)
    for method, path, body, allowed in endpoints(shop):
        sid = connection.savepoint()
        response = _call(client, method, path, body)
        connection.savepoint_rollback(sid)
        if role in allowed:
            assert response.status_code in (200, 409), (role, path, response.status_code)
        else:
            assert response.status_code == 403, (role, path, response.status_code)


def test_anonymous_and_other_malls_staff_are_nobody_here(shop, mall, other_mall):
    from django.contrib.auth import get_user_model
    from django_tenants.utils import schema_context

    anonymous = host_client(mall)
    for method, path, body, _allowed_roles in pages(shop):
        response = _call(anonymous, method, path, body)
        assert response.status_code == 302 and response.url.startswith("/console/login/"), path
    for method, path, body, _allowed_roles in endpoints(shop):
        assert _call(anonymous, method, path, body).status_code == 403, path

    # The other mall's owner, signed in on their own host, is unknown on this one.
    with schema_context(other_mall.schema_name):
        stranger = get_user_model().objects.get(is_superuser=True)
        theirs = host_client(other_mall)
        theirs.force_login(stranger)
    connection.set_tenant(mall)
    here = host_client(mall)
    here.cookies = theirs.cookies
    assert here.get("/console/orders/").status_code == 302
    assert here.get("/api/v1/console/orders/").status_code == 403
    assert post_json(here, f"/api/v1/console/orders/{shop['plain'].number}/ship/",
                     {"carrier": "SF", "tracking_number": "1"}).status_code == 403
    assert Order.objects.get(pk=shop["plain"].pk).status == OrderStatus.PAID
