"""The console's 订单 and 售后 areas: pages and staff API, who may use them, what they
show (filters, tabs, timeline, money), shipping one order or a file of them, after-sales
decisions, the export, their audit rows and the bad input they refuse."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re

import openpyxl
import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from core.actors import Actor
from merchant_console.exports import export_run, order_parameters
from merchant_console.models import AuditEntry, ExportJob
from merchant_console.orders_console import OrderQuery, orders_for_query
from storefront.distribution import plans, services
from storefront.orders.after_sales import RefundItem, after_sales_refund_failed, after_sales_request
from storefront.orders.models import AfterSalesRequest, Order, OrderStatus
from storefront.orders.services import CheckoutItem, order_mark_paid, order_place
from tests.conftest import host_client
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory
from tests.factories.shoppers import AddressFactory, ShopperFactory
from tests.merchant_console.export_helpers import download, follow, job_of

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
    # A finished export of every order, as a staff member would have asked for it.
    export = ExportJob.objects.create(kind="orders", file_format="csv", requested_by_id=1,
                                      parameters=order_parameters(OrderQuery()))
    export_run(job_id=export.pk)
    return {"sku": sku, "seller": seller, "upline": upline, "alice": alice, "bob": bob,
            "referred": referred, "plain": plain, "unpaid": unpaid, "shipped": shipped,
            "case": case, "export": export}


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
        ("post", "/console/orders/export/", {"kind": "csv"}, MAY_VIEW),
        ("get", f"/console/exports/{shop['export'].pk}/", None, MAY_VIEW),
        ("get", f"/console/exports/{shop['export'].pk}/download/", None, MAY_VIEW),
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
        ("post", "/api/v1/console/orders/exports/?kind=csv", {}, MAY_VIEW),
        ("get", f"/api/v1/console/orders/exports/{shop['export'].pk}/", None, MAY_VIEW),
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
            assert response.status_code in (200, 202, 409), (role, path, response.status_code)
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


# ------------------------------------------------------------------ list: search, filters, tabs


def _numbers(response) -> list[str]:
    return [order.number for order in response.context["page"]]


def test_list_searches_filters_and_counts_per_status(shop, staff_client):
    client = staff_client("owner")
    page = client.get("/console/orders/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    tabs = {tab["value"]: tab["count"] for tab in page.context["tabs"]}
    assert tabs == {"": 5, "pending_payment": 1, "paid": 3, "shipped": 1, "received": 0,
                    "completed": 0, "cancelled": 0, "refunded": 0}
    assert f'id="ship-{shop["plain"].number}"' in page.content.decode()
    assert f'id="ship-{shop["shipped"].number}"' not in page.content.decode()

    paid = client.get("/console/orders/?status=paid")
    assert set(_numbers(paid)) == {o.number for o in (*shop["referred"], shop["plain"])}
    # by phone (shopper's), nickname, tracking number and order number
    assert set(_numbers(client.get("/console/orders/?q=1391111"))) == {
        shop["referred"][0].number, shop["unpaid"].number}
    assert set(_numbers(client.get("/console/orders/?q=bob"))) == {
        shop["referred"][1].number, shop["plain"].number, shop["shipped"].number}
    assert _numbers(client.get("/console/orders/?q=YT0001")) == [shop["shipped"].number]
    assert _numbers(client.get(f"/console/orders/?q={shop['plain'].number}")) == [
        shop["plain"].number]
    # by shopper (id or phone) and by distributor (invite code or id)
    by_id = client.get(f"/console/orders/?shopper={shop['alice'].pk}")
    by_phone = client.get("/console/orders/?shopper=13911112222")
    assert set(_numbers(by_id)) == set(_numbers(by_phone)) == {
        shop["referred"][0].number, shop["unpaid"].number}
    # Paying through the link bound Alice and Bob to the seller: their later paid orders
    # are the seller's too; the unpaid one is nobody's yet.
    brought = {o.number for o in (*shop["referred"], shop["plain"], shop["shipped"])}
    code = shop["seller"].invite_code
    assert set(_numbers(client.get(f"/console/orders/?distributor={code.lower()}"))) == brought
    by_distributor = client.get(f"/console/orders/?distributor={shop['seller'].pk}&status=paid")
    assert set(_numbers(by_distributor)) == brought - {shop["shipped"].number}
    assert {t["value"]: t["count"] for t in by_distributor.context["tabs"]}["shipped"] == 1
    assert _numbers(client.get(f"/console/orders/?distributor={shop['upline'].invite_code}")) == []


def test_date_range_is_in_shanghai_days(shop, staff_client):
    """An order placed at 23:30 on the 1st in Shanghai (15:30 UTC) belongs to the 1st."""
    late = dt.datetime(2026, 3, 1, 15, 30, tzinfo=dt.UTC)
    Order.objects.filter(pk=shop["plain"].pk).update(created_at=late)
    Order.objects.filter(pk=shop["unpaid"].pk).update(created_at=late + dt.timedelta(hours=1))
    client = staff_client("finance")
    first = client.get("/console/orders/?date_from=2026-03-01&date_to=2026-03-01")
    assert _numbers(first) == [shop["plain"].number]
    second = client.get("/console/orders/?date_from=2026-03-02&date_to=2026-03-02")
    assert _numbers(second) == [shop["unpaid"].number]
    api = client.get("/api/v1/console/orders/?date_from=2026-03-01&date_to=2026-03-02").json()
    assert {row["number"] for row in api["results"]} == {shop["plain"].number,
                                                         shop["unpaid"].number}


def test_list_paginates(shop, staff_client):
    for _ in range(21):
        order_mark_paid(order=_place(shop["bob"], shop["sku"]), actor=Actor.system())
    client = staff_client("owner")
    first = client.get("/console/orders/")
    second = client.get("/console/orders/?page=2")
    assert (len(first.context["page"]), len(second.context["page"])) == (20, 6)
    assert not set(_numbers(first)) & set(_numbers(second))
    assert client.get("/console/orders/?page=99").status_code == 200


def test_bad_filters_are_said_not_ignored(shop, staff_client):
    client = staff_client("owner")
    unknown = client.get("/console/orders/?distributor=NOBODY99", HTTP_ACCEPT_LANGUAGE="en")
    assert unknown.status_code == 200 and _numbers(unknown) == []
    assert "No distributor with this invite code or id." in unknown.content.decode()
    nobody = client.get("/console/orders/?shopper=13000000000", HTTP_ACCEPT_LANGUAGE="en")
    assert _numbers(nobody) == [] and "No shopper with this id or phone." in nobody.content.decode()
    assert client.get("/console/orders/?date_from=yesterday&status=lost").status_code == 200
    api = client.get("/api/v1/console/orders/?distributor=NOBODY99")
    assert api.status_code == 400 and "distributor" in api.json()["fields"]
    assert client.get("/api/v1/console/orders/?date_from=2026-13-01").status_code == 400
    assert client.get("/api/v1/console/orders/?date_from=2026-03-02&date_to=2026-03-01"
                      ).status_code == 400
    assert client.get("/api/v1/console/orders/counts/?shopper=x").status_code == 400


def test_api_list_filters_and_counts(shop, staff_client):
    client = staff_client("customer_service")
    rows = client.get(f"/api/v1/console/orders/?distributor={shop['seller'].invite_code}"
                      "&status=paid&q=alice").json()
    assert [row["number"] for row in rows["results"]] == [shop["referred"][0].number]
    counts = client.get("/api/v1/console/orders/counts/?q=bob").json()
    assert counts == {"total": 3, "by_status": {
        "pending_payment": 0, "paid": 2, "shipped": 1, "received": 0, "completed": 0,
        "cancelled": 0, "refunded": 0}}


# ------------------------------------------------------------------ detail: timeline and money


def test_detail_shows_timeline_and_money_with_commissions_by_tier(shop, staff_client):
    order = shop["referred"][0]
    client = staff_client("finance")
    page = client.get(f"/console/orders/{order.number}/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    money = page.context["money"]
    assert (money.total_fen, money.paid_fen, money.refunded_fen) == (20000, 20000, 0)
    tiers = {(t.tier, t.amount_fen, t.net_fen) for t in money.tiers}
    assert tiers == {(1, 2000, 2000), (2, 1000, 1000)}
    assert money.commissions_fen == 3000 and money.kept_fen == 17000
    assert money.attribution.distributor_id == shop["seller"].pk
    assert {t.tier: t.by_status for t in money.tiers} == {1: {"pending": 2000},
                                                          2: {"pending": 1000}}
    kinds = [entry.kind for entry in page.context["detail"].timeline]
    assert kinds.count("status") == 2 and "after_sales" in kinds
    html = page.content.decode()
    assert 'id="commission-tiers"' in html and "Tier 2" in html
    assert 'id="ship-form"' not in html  # finance may only look

    api = client.get(f"/api/v1/console/orders/{order.number}/").json()
    assert api["money"]["commissions_fen"] == 3000
    assert [(t["tier"], t["net_fen"], t["by_status"]) for t in api["money"]["tiers"]] == [
        (1, 2000, {"pending": 2000}), (2, 1000, {"pending": 1000})]
    assert {e["kind"] for e in api["history"]} == {"status", "after_sales"}
    assert api["history"][0]["actor"].startswith("Shopper")


def test_customer_service_sees_no_commissions(shop, staff_client):
    order = shop["referred"][0]
    client = staff_client("customer_service")
    page = client.get(f"/console/orders/{order.number}/")
    assert page.context["money"].commissions_fen is None
    assert 'id="commission-tiers"' not in page.content.decode()
    assert 'id="ship-form"' in page.content.decode()
    api = client.get(f"/api/v1/console/orders/{order.number}/").json()
    assert api["money"]["commissions_fen"] is None and api["money"]["tiers"] == []


def test_detail_of_a_shipped_order_names_the_shipment_and_staff(shop, staff_client):
    client = staff_client("owner")
    client.post(f"/console/orders/{shop['plain'].number}/ship/",
                {"carrier": "顺丰", "tracking_number": "SF778899"})
    page = client.get(f"/console/orders/{shop['plain'].number}/", HTTP_ACCEPT_LANGUAGE="en")
    [shipment] = [e for e in page.context["detail"].timeline if e.kind == "shipment"]
    assert "顺丰" in shipment.title and "SF778899" in shipment.title
    assert client.user.email in shipment.actor
    assert client.get("/console/orders/NOPE/").status_code == 404
    assert client.get("/api/v1/console/orders/NOPE/").status_code == 404


# ------------------------------------------------------------------ shipping


def test_ship_from_the_list_writes_an_audit_row_and_goes_back(shop, staff_client):
    client = staff_client("customer_service")
    order = shop["plain"]
    back = "/console/orders/?status=paid"
    response = client.post(f"/console/orders/{order.number}/ship/",
                           {"carrier": "顺丰", "tracking_number": " SF100 ", "next": back})
    assert (response.status_code, response.url) == (302, back)
    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == ("shipped", "顺丰", "SF100")
    [row] = audit_rows("order.ship")
    assert (row.area, row.target, row.actor_email) == ("orders", order.number, client.user.email)
    assert row.detail == {"carrier": "顺丰", "tracking_number": "SF100", "source": "single"}
    # An outside `next` is not followed.
    other = client.post(f"/console/orders/{shop['referred'][1].number}/ship/",
                        {"carrier": "中通", "tracking_number": "ZT1",
                         "next": "https://evil.example/"})
    assert other.url == f"/console/orders/{shop['referred'][1].number}/"


def test_ship_refusals_change_nothing_and_write_no_audit(shop, staff_client):
    client = staff_client("owner")
    order = shop["plain"]
    empty = client.post(f"/console/orders/{order.number}/ship/",
                        {"carrier": "顺丰", "tracking_number": "  "}, HTTP_ACCEPT_LANGUAGE="en",
                        follow=True)
    assert "tracking number" in empty.content.decode()
    shipped = client.post(f"/console/orders/{shop['shipped'].number}/ship/",
                          {"carrier": "顺丰", "tracking_number": "SF2"}, follow=True,
                          HTTP_ACCEPT_LANGUAGE="en")
    assert "cannot become" in shipped.content.decode()
    unknown = client.post("/console/orders/NOPE/ship/", {"carrier": "顺丰",
                                                         "tracking_number": "SF3"})
    assert unknown.url == "/console/orders/"
    unpaid = client.post(f"/console/orders/{shop['unpaid'].number}/ship/",
                         {"carrier": "顺丰", "tracking_number": "SF4"})
    assert unpaid.status_code == 302
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert Order.objects.get(pk=shop["shipped"].pk).tracking_number == "YT0001"
    assert Order.objects.get(pk=shop["unpaid"].pk).status == OrderStatus.PENDING_PAYMENT
    assert audit_rows("order.ship") == []

    api = "/api/v1/console/orders/"
    assert post_json(client, f"{api}{order.number}/ship/",
                     {"carrier": "顺丰", "tracking_number": ""}).status_code == 400
    assert post_json(client, f"{api}{shop['shipped'].number}/ship/",
                     {"carrier": "顺丰", "tracking_number": "SF5"}).status_code == 409
    assert post_json(client, f"{api}NOPE/ship/",
                     {"carrier": "顺丰", "tracking_number": "SF6"}).status_code == 404
    assert audit_rows("order.ship") == []


def test_ship_through_the_api_audits_too(shop, staff_client):
    client = staff_client("operations")
    response = post_json(client, f"/api/v1/console/orders/{shop['plain'].number}/ship/",
                         {"carrier": "顺丰", "tracking_number": "SF9"})
    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["tracking_number"]) == ("shipped", "SF9")
    assert any(e["kind"] == "shipment" for e in data["history"])
    [row] = audit_rows("order.ship")
    assert row.actor_email == client.user.email


# ------------------------------------------------------------------ bulk shipping


def _csv(*rows, header=("order_number", "carrier", "tracking_number")) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _xlsx(*rows, header=("订单号", "快递公司", "运单号")) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_bulk_ship_ships_good_rows_and_names_the_bad_ones(shop, staff_client):
    client = staff_client("customer_service")
    good1, good2 = shop["referred"]
    content = _csv(
        (good1.number, "顺丰", "SF001"),
        (shop["shipped"].number, "顺丰", "SF002"),  # already shipped
        ("NOPE", "顺丰", "SF003"),  # unknown
        (shop["plain"].number, "顺丰", ""),  # no tracking number
        (good2.number, "中通", "ZT004"),
        (good1.number, "顺丰", "SF005"),  # twice in the file
        (shop["unpaid"].number, "顺丰", "SF006"),  # not paid
        ("", "", ""),  # a blank line is skipped
    )
    response = client.post("/console/orders/bulk-ship/", {
        "file": SimpleUploadedFile("ship.csv", content, content_type="text/csv")},
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    result = response.context["result"]
    assert (result.shipped, result.failed) == (2, 5)
    reasons = {row.row: row.reason for row in result.rows if not row.ok}
    assert reasons == {
        3: "Already shipped.", 4: "No order with this number.",
        5: "Enter the tracking number (at most 40 characters).",
        7: "This order appears earlier in the file.",
        8: "Only a paid order can be shipped; this one is Pending payment.",
    }
    html = response.content.decode()
    assert 'id="bulk-row-4"' in html and "No order with this number." in html
    assert Order.objects.get(pk=good1.pk).tracking_number == "SF001"
    assert Order.objects.get(pk=good2.pk).tracking_number == "ZT004"
    assert Order.objects.get(pk=shop["plain"].pk).status == OrderStatus.PAID
    assert [row.target for row in audit_rows("order.ship")] == [good1.number, good2.number]
    assert all(row.detail["source"] == "file:ship.csv" for row in audit_rows("order.ship"))
    [summary] = audit_rows("order.bulk_ship")
    assert (summary.detail["rows"], summary.detail["shipped"]) == (7, 2)


def test_bulk_ship_reads_xlsx_with_chinese_headers_and_numbers(shop, staff_client):
    client = staff_client("owner")
    content = _xlsx((shop["plain"].number, "顺丰", 773012345678))
    response = client.post("/api/v1/console/orders/bulk-ship/", {
        "file": SimpleUploadedFile("发货.xlsx", content)})
    assert response.status_code == 200, response.content
    assert response.json()["shipped"] == 1
    assert Order.objects.get(pk=shop["plain"].pk).tracking_number == "773012345678"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("ship.csv", b"", "The file is empty."),
    ("ship.pdf", b"%PDF-1.4", "Upload a .csv or .xlsx file."),
    ("ship.xlsx", b"not a workbook", "The file cannot be read as XLSX"),
    ("ship.csv", b"number;carrier\n1;2\n", "The first row must name the columns"),
    ("ship.csv", b"order_number,carrier,tracking_number\n", "no rows below its header"),
])
def test_a_bad_file_is_refused_whole(shop, staff_client, name, content, message):
    client = staff_client("owner")
    page = client.post("/console/orders/bulk-ship/", {
        "file": SimpleUploadedFile(name, content)}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400 and message in page.content.decode()
    api = client.post("/api/v1/console/orders/bulk-ship/", {
        "file": SimpleUploadedFile(name, content)}, HTTP_ACCEPT_LANGUAGE="en")
    assert api.status_code == 400
    assert not AuditEntry.objects.filter(area="orders").exists()
    assert Order.objects.filter(status=OrderStatus.SHIPPED).count() == 1


def test_bulk_ship_without_a_file(shop, staff_client):
    client = staff_client("owner")
    assert client.post("/console/orders/bulk-ship/").status_code == 400
    assert client.post("/api/v1/console/orders/bulk-ship/").status_code == 400


def test_a_gbk_csv_from_excel_is_read(shop, staff_client):
    client = staff_client("owner")
    content = f"订单号,快递公司,运单号\n{shop['plain'].number},顺丰,SF1\n".encode("gb18030")
    response = client.post("/console/orders/bulk-ship/", {
        "file": SimpleUploadedFile("ship.csv", content)})
    assert response.context["result"].shipped == 1


# ------------------------------------------------------------------ export


def test_export_csv_and_xlsx_follow_the_filters(shop, staff_client):
    client = staff_client("finance")
    type(shop["bob"]).objects.filter(pk=shop["bob"].pk).update(nickname="=HYPERLINK(1)")
    started = client.post(f"/console/orders/export/?status=paid&shopper={shop['bob'].pk}",
                          {"kind": "csv"})
    job = job_of(started)
    assert (job.kind, job.file_format, job.status) == ("orders", "csv", "pending")
    assert job.parameters["status"] == "paid" and job.parameters["shopper_id"] == shop["bob"].pk
    # Queued through the outbox, to the task a worker runs in this mall's schema.
    from core.models import OutboxMessage
    from merchant_console.tasks import run_export

    queued = OutboxMessage.objects.get(kwargs={"job_id": job.pk})
    assert queued.task == run_export.name == "merchant_console.tasks.run_export"
    content, response = download(client, job)
    assert response["Content-Type"].startswith("text/csv")
    assert re.fullmatch(r'attachment; filename="orders-\d{8}-\d{4}\.csv"',
                        response["Content-Disposition"])
    text = content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["order_number", "status", "placed_at"]
    assert {row[0] for row in rows[1:]} == {shop["referred"][1].number, shop["plain"].number}
    plain = next(row for row in rows if row[0] == shop["plain"].number)
    assert plain[rows[0].index("total_yuan")] == "300.00"
    assert plain[rows[0].index("shopper")] == "'=HYPERLINK(1)"  # never run as a formula
    job.refresh_from_db()
    assert (job.rows_done, job.rows_total, job.percent) == (2, 2, 100)

    started = client.post(f"/api/v1/console/orders/exports/?kind=xlsx&q=alice&distributor="
                          f"{shop['seller'].invite_code}")
    assert started.status_code == 202
    api_job = ExportJob.objects.get(pk=started.json()["id"])
    assert client.get(f"/api/v1/console/orders/exports/{api_job.pk}/").json()[
        "download_url"] is None
    export_run(job_id=api_job.pk)
    status = client.get(started.json()["status_url"]).json()
    assert status["status"] == "done" and status["rows_done"] == 1
    xlsx = client.get(status["download_url"])
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    numbers = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert numbers == [shop["referred"][0].number]
    exports = audit_rows("order.export")
    assert [(row.target, row.detail["rows"], row.detail["job"]) for row in exports] == [
        ("csv", 2, job.pk), ("xlsx", 1, api_job.pk)]
    assert client.post("/api/v1/console/orders/exports/?kind=pdf").status_code == 400
    assert client.post("/console/orders/export/", {"kind": "pdf"}).status_code == 302
    assert client.get("/console/orders/export/?kind=csv").status_code == 405
    assert ExportJob.objects.count() == 3  # the fixture's and these two


def test_an_export_longer_than_a_chunk_has_every_row_in_order(shop, staff_client,
                                                              monkeypatch):
    """Progress is written every CHUNK_ROWS rows; the file still has every order once."""
    from merchant_console import exports as export_jobs

    monkeypatch.setattr(export_jobs, "CHUNK_ROWS", 2)
    written = []
    original = export_jobs._Progress.__call__

    def spy(self):
        original(self)
        written.append(ExportJob.objects.get(pk=self.job_id).rows_done)

    monkeypatch.setattr(export_jobs._Progress, "__call__", spy)
    client = staff_client("operations")
    content, _response = follow(client, client.post("/console/orders/export/", {"kind": "csv"}))
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))[1:]
    found, _counts = orders_for_query(OrderQuery())
    expected = list(found.values_list("number", flat=True))
    assert len(expected) == 5
    assert [row[0] for row in rows] == expected
    # The row's count moves a chunk at a time: 0, 2, 2, 4, 4.
    assert written == [n - n % 2 for n in range(1, 6)]


def test_a_worker_that_died_mid_export_leaves_a_job_run_again_from_scratch(shop,
                                                                            staff_client):
    client = staff_client("operations")
    job = job_of(client.post("/console/orders/export/", {"kind": "csv"}))
    # What a dead worker leaves: running, some rows counted, half a file.
    job.status, job.rows_done, job.started_at = "running", 1, timezone.now() - dt.timedelta(
        hours=1)
    job.file.save("orders-half.csv", ContentFile(b"half"), save=False)
    job.save()
    half = job.file.path
    page = client.get(f"/console/exports/{job.pk}/")
    assert 'id="export-retry"' in page.content.decode()
    assert client.post(f"/console/exports/{job.pk}/retry/").status_code == 302
    job.refresh_from_db()
    assert job.status == "pending"
    content, _response = download(client, job)
    assert not os.path.exists(half)
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(rows) == 1 + Order.objects.count()


# ------------------------------------------------------------------ after-sales


def test_after_sales_list_filters_and_tabs(shop, staff_client):
    client = staff_client("customer_service")
    page = client.get("/console/after-sales/", HTTP_ACCEPT_LANGUAGE="en")
    assert [case.pk for case in page.context["page"]] == [shop["case"].pk]
    assert {t["value"]: t["count"] for t in page.context["tabs"]}["requested"] == 1
    assert page.context["page"][0].reason_label == "Arrived damaged"
    assert list(client.get("/console/after-sales/?status=refunded").context["page"]) == []
    assert list(client.get("/console/after-sales/?reason=quality").context["page"]) == []
    assert len(client.get("/console/after-sales/?q=1391111").context["page"]) == 1
    api = client.get("/api/v1/console/after-sales/?q=1373").json()
    assert api["count"] == 0
    assert client.get("/api/v1/console/after-sales/?reason=nonsense").status_code == 400
    counts = client.get("/api/v1/console/after-sales/counts/").json()
    assert (counts["total"], counts["by_status"]["requested"]) == (1, 1)


def test_case_detail_and_decisions_with_audit(shop, staff_client):
    case = shop["case"]
    client = staff_client("customer_service")
    page = client.get(f"/console/after-sales/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert "box crushed" in html and f'id="approve-{case.pk}"' in html
    assert "¥100.00" in html  # one of two units of ¥200

    refused = client.post(f"/console/after-sales/{case.pk}/decide/",
                          {"decision": "reject", "note": " "}, follow=True,
                          HTTP_ACCEPT_LANGUAGE="en")
    assert "Tell the shopper why." in refused.content.decode()
    assert AfterSalesRequest.objects.get(pk=case.pk).status == "requested"
    assert audit_rows("after_sales.reject") == []

    client.post(f"/console/after-sales/{case.pk}/decide/", {"decision": "approve",
                                                            "note": "sorry"})
    assert AfterSalesRequest.objects.get(pk=case.pk).status == "approved"
    [row] = audit_rows("after_sales.approve")
    assert (row.area, row.target, row.detail["refund_fen"]) == ("after_sales", str(case.pk),
                                                                10000)
    # The refund fails: staff see why, and retry.
    after_sales_refund_failed(request_id=case.pk, reason="NOT_ENOUGH balance")
    failed = client.get(f"/console/after-sales/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "NOT_ENOUGH balance" in failed.content.decode()
    assert f'id="retry-{case.pk}"' in failed.content.decode()
    retried = post_json(client, f"/api/v1/console/after-sales/{case.pk}/retry/", {"note": ""})
    assert retried.status_code == 200 and retried.json()["status"] == "approved"
    assert [e["to_status"] for e in retried.json()["events"]] == [
        "requested", "approved", "refund_failed", "approved"]
    assert len(audit_rows("after_sales.retry")) == 1
    # Approving twice is a conflict, and writes nothing.
    again = post_json(client, f"/api/v1/console/after-sales/{case.pk}/approve/", {"note": ""})
    assert again.status_code == 409
    assert len(audit_rows("after_sales.approve")) == 1
    assert client.get("/console/after-sales/999999/").status_code == 404
    assert client.get(f"/console/after-sales/{10**30}/").status_code == 404
    assert client.get(f"/api/v1/console/after-sales/{10**30}/").status_code == 404
    assert client.post("/console/after-sales/999999/decide/",
                       {"decision": "approve"}).url == "/console/after-sales/"
    assert post_json(client, "/api/v1/console/after-sales/999999/approve/",
                     {"note": ""}).status_code == 404


def test_reject_through_the_api_needs_a_note(shop, staff_client):
    client = staff_client("operations")
    path = f"/api/v1/console/after-sales/{shop['case'].pk}/reject/"
    assert post_json(client, path, {"note": ""}).status_code == 400
    assert post_json(client, path, {"note": "out of window"}).json()["status"] == "rejected"
    [row] = audit_rows("after_sales.reject")
    assert row.detail["note"] == "out of window"


def test_unknown_decision_changes_nothing(shop, staff_client):
    client = staff_client("owner")
    client.post(f"/console/after-sales/{shop['case'].pk}/decide/", {"decision": "maybe"})
    assert AfterSalesRequest.objects.get(pk=shop["case"].pk).status == "requested"
    assert not AuditEntry.objects.exists()


# ------------------------------------------------------------------ query counts


@pytest.fixture
def many(shop):
    """More orders and cases, so a query per row would show."""
    for _ in range(6):
        order = _place(shop["bob"], shop["sku"], 2, referrer_code=shop["seller"].shopper.share_code)
        order_mark_paid(order=order, actor=Actor.system())
        after_sales_request(order=order, shopper_id=shop["bob"].pk, reason="quality",
                            items=[RefundItem(order.lines.get().pk, 1)])
    return shop


@pytest.mark.parametrize(("role", "path", "queries"), [
    ("owner", "/console/orders/", 10),
    ("customer_service", "/console/orders/?status=paid&q=13", 13),
    ("finance", "/console/after-sales/", 16),
])
def test_list_pages_query_counts(many, staff_client, django_assert_num_queries, role, path,
                                 queries):
    client = staff_client(role)
    client.get(path)  # the same page again: nothing is cached between requests
    with django_assert_num_queries(queries):
        assert client.get(path).status_code == 200


@pytest.mark.parametrize(("role", "queries"), [("owner", 18), ("finance", 21),
                                               ("customer_service", 19)])
def test_detail_pages_query_counts(many, staff_client, django_assert_num_queries, role,
                                   queries):
    client = staff_client(role)
    order = many["referred"][0]
    with django_assert_num_queries(queries):
        assert client.get(f"/console/orders/{order.number}/").status_code == 200


def test_case_page_query_count(many, staff_client, django_assert_num_queries):
    client = staff_client("customer_service")
    with django_assert_num_queries(17):
        assert client.get(f"/console/after-sales/{many['case'].pk}/").status_code == 200
