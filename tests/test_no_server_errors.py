"""No URL answers 5xx to a read: every pattern of both URLconfs (the platform host's and a
mall's), with GET, HEAD and OPTIONS, as anonymous, as a signed-in shopper and as staff.

The mall has data (a product with an image, a banner, orders, a payment, an after-sales
case, an address, WeChat Pay bound to the simulator and approved), and every URL parameter
is one of its real ids. A parameter with no value here fails the test, so a new URL cannot
be left out by accident. On the platform host "staff" is a platform admin; a shopper has no
account there (shoppers live in a mall's schema), so the shopper's walk is the mall's only.
No URL is skipped.

Each request runs in a savepoint rolled back afterwards and the client's cookies are put
back, so a GET that signs out or changes something cannot change what the next one sees.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils.regex_helper import normalize

from billing.models import Plan
from core.actors import Actor
from storefront.distribution import levels, plans, services
from storefront.distribution.compliance import Thresholds, compliance_monitor
from storefront.distribution.models import ComplianceAlert
from storefront.ledger.models import Account
from storefront.orders.after_sales import RefundItem, after_sales_request
from storefront.orders.models import ShippingTemplate
from storefront.orders.services import CheckoutItem, order_mark_paid, order_place
from storefront.payments import services as payments
from storefront.payments.models import PaymentChannel
from storefront.support.services import ticket_open
from tenants.models import Merchant, WeChatBinding
from tests.factories.catalog import BannerFactory, ProductImageFactory
from tests.payments.conftest import (  # noqa: F401 - the WeChat simulator's fixtures
    paying_mall,
    sim,
    sub_merchant,
    wechat_settings,
    wechat_sim,
)
from tests.shoppers.conftest import sign_in

pytestmark = pytest.mark.django_db

METHODS = ("get", "head", "options")
# Parameters that name no row here: they are read as "not found" (a 404 or the admin's
# redirect), which is what the walk checks them for.
UNKNOWN = "999999"
_ROUTE_PARAMETER = re.compile(r"<(?:[^>:]+:)?(\w+)>")


def _format(pattern) -> str:
    """A pattern as a %-format string of its parameters: "orders/%(number)s/"."""
    if isinstance(pattern, RoutePattern):
        return _ROUTE_PARAMETER.sub(lambda match: f"%({match[1]})s", str(pattern))
    return normalize(pattern.regex.pattern)[0][0]


def url_formats(urlconf: str) -> Iterator[str]:
    def walk(patterns, prefix: str):
        for entry in patterns:
            piece = prefix + _format(entry.pattern)
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, piece)
            else:
                yield "/" + piece

    yield from dict.fromkeys(walk(get_resolver(urlconf).url_patterns, ""))


def _admin_object_id(path_format: str, ids: dict) -> str:
    for model_path, pk in ids["admin_objects"].items():
        if path_format.startswith(f"/admin/{model_path}/"):
            return str(pk)
    return UNKNOWN


def fill(path_format: str, ids: dict) -> list[str]:
    """The paths of a pattern: each parameter takes its value, or each of its values (a
    tuple), from `ids`."""
    choices = {}
    for name in dict.fromkeys(re.findall(r"%\((\w+)\)s", path_format)):
        if name == "object_id" and path_format.startswith("/admin/"):
            choices[name] = (_admin_object_id(path_format, ids),)
        elif name in ids:
            value = ids[name]
            choices[name] = tuple(map(str, value)) if isinstance(value, tuple) else (str(value),)
        else:
            pytest.fail(f"{path_format}: no value for the parameter {name!r}; add one to "
                        "the walk's ids (a real one, or UNKNOWN for a 404)")
    return [path_format % dict(zip(choices, combination, strict=True))
            for combination in itertools.product(*choices.values())]


@pytest.fixture
def walk_mall(request, mall):
    """A mall with data: WeChat Pay approved, a product with an image, a banner, an unpaid
    order with a payment, a paid order with an after-sales case."""
    request.getfixturevalue("sim")
    merchant, sku, shopper, address = request.getfixturevalue("paying_mall")(mall)
    image = ProductImageFactory(product=sku.product)
    banner = BannerFactory(product=sku.product)
    unpaid = order_place(shopper=shopper, items=[CheckoutItem(sku.pk, 1)],
                         address_id=address.pk)
    payment = payments.payment_start(order=unpaid, shopper=shopper,
                                     channel=PaymentChannel.NATIVE).payment
    paid = order_place(shopper=shopper, items=[CheckoutItem(sku.pk, 2)], address_id=address.pk)
    order_mark_paid(order=paid, actor=Actor.system())
    case = after_sales_request(order=paid, shopper_id=shopper.pk, reason="damaged",
                               items=[RefundItem(order_line_id=paid.lines.get().pk, quantity=1)])
    owner = get_user_model().objects.get(username="owner@example.com")
    distributor, level, plan, alert = _distribution(shopper)
    ticket = ticket_open(shopper=shopper, subject="破损", body="收到的商品破了",
                         order_number=paid.number)
    export = _finished_export(request)
    ids = {
        "product_id": sku.product_id, "sku_id": sku.pk, "image_id": image.pk,
        "banner_id": banner.pk, "category_id": sku.product.category_id,
        "number": (paid.number, unpaid.number), "request_id": case.pk, "case_id": case.pk,
        "out_trade_no": payment.out_trade_no, "address_id": address.pk,
        "distributor_id": distributor.pk, "shopper_id": shopper.pk, "level_id": level.pk,
        "plan_id": plan.pk, "alert_id": alert.pk, "statement_id": UNKNOWN,
        "withdrawal_id": UNKNOWN, "token": "no-such-invitation",
        "user_id": owner.pk, "invitation_id": UNKNOWN,
        "ticket_number": (ticket.number, UNKNOWN),
        "job_id": (export.pk, UNKNOWN),  # an export job; no import job has its id
        # Console → Finance and Settings
        "account_id": Account.objects.values_list("pk", flat=True).first() or UNKNOWN,
        "mismatch_id": UNKNOWN, "kind": ("withdrawals", "transfers", "shares", "returns"),
        "template_id": ShippingTemplate.objects.values_list("pk", flat=True).first() or UNKNOWN,
    }
    return {"merchant": merchant, "shopper": shopper, "owner": owner, "ids": ids}


def _finished_export(request):
    """A written orders export (its file in a directory of the test's own)."""
    from merchant_console.exports import export_run
    from merchant_console.models import ExportJob
    from tests.merchant_console.export_helpers import reset_storage_paths

    request.getfixturevalue("settings").MEDIA_ROOT = str(
        request.getfixturevalue("tmp_path") / "media")
    reset_storage_paths()
    request.addfinalizer(reset_storage_paths)
    job = ExportJob.objects.create(kind="orders", file_format="csv", requested_by_id=1,
                                   parameters={})
    export_run(job_id=job.pk)
    return job


def _distribution(shopper):
    """The shopper is a distributor on a level, under an active plan, with an alert."""
    level = levels.level_create(data={"name": "普通", "rank": 0, "rates_bp": [1000]})
    plan = plans.plan_activate(plan_id=plans.plan_create({"name": "标准", "rates_bp": [1000]}).pk)
    distributor = services.distributor_join(shopper=shopper)
    compliance_monitor(thresholds=Thresholds(max_depth=-1))
    return distributor, level, plan, ComplianceAlert.objects.get()


@pytest.fixture
def platform_admin(walk_mall):
    connection.set_schema_to_public()
    admin = get_user_model().objects.create_superuser(
        username="root@platform.test", email="root@platform.test", password="x-Walk-2345"
    )
    merchant = walk_mall["merchant"]
    ids = {
        "app_label": "tenants", "url": "no-such-page/", "id": admin.pk,
        "content_type_id": ContentType.objects.get_for_model(Merchant).pk,
        "object_id": merchant.pk,
        "admin_objects": {
            "tenants/merchant": merchant.pk,
            "tenants/wechatbinding": WeChatBinding.objects.get(merchant=merchant).pk,
            "billing/plan": Plan.objects.get(is_default=True).pk,
            "auth/user": admin.pk,
        },
    }
    return admin, ids


def _client(host: str) -> Client:
    return Client(HTTP_HOST=host, raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")


def _walk(client: Client, role: str, host: str, paths: list[str]) -> list[str]:
    failures = []
    for path in paths:
        for method in METHODS:
            cookies = copy.deepcopy(client.cookies)
            try:
                with transaction.atomic():
                    response = getattr(client, method)(path)
                    transaction.set_rollback(True)
            except Exception as exc:  # a failure to report with the others, not to stop on
                failures.append(f"{role} {method.upper()} {host}{path}: raised {exc!r}")
                continue
            finally:
                client.cookies = cookies
            if response.status_code >= 500:
                exc_info = getattr(response, "exc_info", None)
                cause = repr(exc_info[1]) if exc_info else ""
                failures.append(f"{role} {method.upper()} {host}{path} -> "
                                f"{response.status_code} {cause}")
    return failures


def test_no_url_answers_5xx_to_get_head_or_options(walk_mall, platform_admin):
    merchant = walk_mall["merchant"]
    mall_host = merchant.primary_host.split(":")[0]
    mall_paths = [path for f in url_formats("control_plane.urls_tenant")
                  for path in fill(f, walk_mall["ids"])]
    admin, admin_ids = platform_admin
    public_paths = [path for f in url_formats("control_plane.urls_public")
                    for path in fill(f, admin_ids)]
    assert len(mall_paths) > 80 and len(public_paths) > 50  # both URLconfs, every pattern
    assert {f"/orders/{number}/pay/" for number in walk_mall["ids"]["number"]} <= set(mall_paths)

    failures = []
    connection.set_schema_to_public()
    failures += _walk(_client("localhost"), "anonymous", "localhost", public_paths)
    platform = _client("localhost")
    platform.force_login(admin)
    failures += _walk(platform, "platform-admin", "localhost", public_paths)
    assert platform.get("/admin/").status_code == 200  # still signed in after the walk

    connection.set_tenant(merchant)
    failures += _walk(_client(mall_host), "anonymous", mall_host, mall_paths)
    shopper = sign_in(_client(mall_host), walk_mall["shopper"])
    failures += _walk(shopper, "shopper", mall_host, mall_paths)
    assert shopper.get("/api/v1/me/").status_code == 200
    staff = _client(mall_host)
    staff.force_login(walk_mall["owner"])
    failures += _walk(staff, "staff", mall_host, mall_paths)
    assert staff.get("/api/v1/console/orders/").status_code == 200

    assert not failures, f"{len(failures)} answer(s) 5xx:\n" + "\n".join(failures)
