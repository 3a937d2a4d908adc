"""A mall cannot claim a sub-merchant it does not own: WeChat's confirmation proves only that
the number is under the platform's service provider, so a claim waits for a platform
admin's approval (audited), and payments and payouts use approved bindings only."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django_tenants.utils import schema_context

from core.actors import Actor
from simulators.wechat.platform_env import sub_merchants
from storefront.orders.services import CheckoutItem, order_place
from storefront.payments import errors, services, transfers
from storefront.payments.models import Payment, PaymentChannel, Transfer
from tenants import wechat_binding
from tenants.demo import demo_mall_seed
from tenants.models import BindingStatus, WeChatBinding, WeChatBindingStatusChange
from tenants.wechat_binding import (
    binding_approve,
    binding_for_schema,
    binding_reject,
    binding_save,
)
from tests.conftest import OWNER_PASSWORD, host_client
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory
from tests.factories.shoppers import AddressFactory
from tests.shoppers.conftest import sign_in

ADMIN = "root@platform.test"


@pytest.fixture
def claim(wechat_settings, sub_merchant):
    """The owner's claim to the simulator's first sub-merchant, as the console saves it."""

    def _claim(merchant, sub=None, **fields):
        sub = sub or sub_merchant
        return binding_save(merchant=merchant, actor=Actor.staff(1), sub_mchid=sub["sub_mchid"],
                            sub_appid=sub["sub_appid"], **fields)

    return _claim


@pytest.fixture
def admin_client(db):
    connection.set_schema_to_public()
    admin = get_user_model().objects.create_superuser(
        username=ADMIN, email=ADMIN, password=OWNER_PASSWORD
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    client.admin = admin
    return client


@pytest.fixture
def owner(mall):
    client = host_client(mall)
    client.post("/console/login/", {"username": "owner@example.com",
                                    "password": OWNER_PASSWORD})
    return client


def _shopper_and_order(merchant):
    connection.set_tenant(merchant)
    ShippingTemplateFactory(default_fee_fen=0, free_above_fen=0)
    sku = SkuFactory(price_fen=2990, stock=5)
    address = AddressFactory()
    order = order_place(shopper=address.shopper, items=[CheckoutItem(sku.pk, 1)],
                        address_id=address.pk)
    return address.shopper, order


def _review(client, action, binding, reason="", sub_mchid=None):
    return client.post("/admin/tenants/wechatbinding/", {
        "action": action, "_selected_action": [binding.pk], "apply": "yes", "reason": reason,
        f"sub_mchid_{binding.pk}": sub_mchid or binding.sub_mchid,
    })


def test_a_pending_binding_takes_no_payment_and_no_payout(mall, claim, sim):
    binding = claim(mall)
    assert binding.status == BindingStatus.PENDING
    assert binding_for_schema(mall.schema_name) is None
    shopper, order = _shopper_and_order(mall)

    with pytest.raises(errors.PaymentsUnavailable) as excinfo:
        services.payment_start(order=order, shopper=shopper, channel=PaymentChannel.NATIVE)
    assert excinfo.value.status == 503
    api = sign_in(host_client(mall), shopper).post(
        "/api/v1/payments/", {"order_number": order.number, "channel": "native"},
        content_type="application/json",
    )
    assert api.status_code == 503
    assert api.json()["code"] == "payments_unavailable"
    with pytest.raises(errors.PaymentsUnavailable):
        transfers.transfer_create(out_bill_no="TB0001", openid="o" + "x" * 27,
                                  amount_fen=100, remark="佣金提现")
    assert not Payment.objects.exists()
    assert not Transfer.objects.exists()
    sent = [tx for tx in sim.simulator.state.transactions.values()
            if tx.out_trade_no.startswith(order.number)]
    assert sent == []  # nothing reached WeChat

    binding_approve(binding=binding, sub_mchid=binding.sub_mchid, actor=Actor.platform_admin(7))
    start = services.payment_start(order=order, shopper=shopper, channel=PaymentChannel.NATIVE)
    assert start.payment.sub_mchid == binding.sub_mchid


def test_changing_the_number_needs_a_new_approval_but_replacing_the_secret_does_not(
    mall, claim, wechat_sim
):
    first, second = sub_merchants(wechat_sim[1])[:2]
    binding = claim(mall, first)
    binding_approve(binding=binding, sub_mchid=first["sub_mchid"], actor=Actor.system())

    again = claim(mall, first, app_secret="a" * 32)
    assert again.status == BindingStatus.APPROVED
    assert again.has_app_secret

    moved = claim(mall, second)
    assert moved.status == BindingStatus.PENDING
    assert binding_for_schema(mall.schema_name) is None
    change = WeChatBindingStatusChange.objects.filter(binding=binding).first()
    assert (change.from_status, change.to_status, change.actor) == (
        "approved", "pending", Actor.staff(1)
    )
    assert change.reference == second["sub_mchid"]


def test_admin_approves_and_rejects_audited_and_shown_to_the_owner(
    mall, claim, owner, admin_client, sub_merchant
):
    binding = claim(mall)
    page = owner.get("/console/wechat-pay/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Pending approval" in page
    listing = admin_client.get("/admin/tenants/wechatbinding/?status__exact=pending")
    assert sub_merchant["sub_mchid"] in listing.content.decode()

    confirm = admin_client.post("/admin/tenants/wechatbinding/", {
        "action": "approve", "_selected_action": [binding.pk],
    })
    assert confirm.status_code == 200  # the confirmation page, nothing changed yet
    assert sub_merchant["sub_mchid"] in confirm.content.decode()
    assert WeChatBinding.objects.get(pk=binding.pk).status == BindingStatus.PENDING

    assert _review(admin_client, "approve", binding, "applyment 2000001 checked"
                   ).status_code == 302
    binding.refresh_from_db()
    assert binding.status == BindingStatus.APPROVED
    approval = WeChatBindingStatusChange.objects.filter(binding=binding).first()
    assert (approval.from_status, approval.to_status) == ("pending", "approved")
    assert approval.actor == Actor.platform_admin(admin_client.admin.pk)
    assert approval.reason == "applyment 2000001 checked"
    assert approval.reference == sub_merchant["sub_mchid"]
    assert approval.created_at is not None
    page = owner.get("/console/wechat-pay/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Approved by the platform" in page

    refused = _review(admin_client, "reject", binding, reason="")
    assert refused.status_code == 200  # a rejection needs its reason
    assert WeChatBinding.objects.get(pk=binding.pk).status == BindingStatus.APPROVED
    _review(admin_client, "reject", binding, reason="Not your applyment: send the licence")
    binding.refresh_from_db()
    assert binding.status == BindingStatus.REJECTED
    rejection = WeChatBindingStatusChange.objects.filter(binding=binding).first()
    assert (rejection.from_status, rejection.to_status) == ("approved", "rejected")
    assert rejection.actor == Actor.platform_admin(admin_client.admin.pk)
    assert binding_for_schema(mall.schema_name) is None

    page = owner.get("/console/wechat-pay/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Rejected by the platform" in page
    assert "Not your applyment: send the licence" in page
    api = owner.get("/api/v1/console/wechat-pay/").json()
    assert api["status"] == "rejected"
    assert api["status_reason"] == "Not your applyment: send the licence"
    history = admin_client.get(f"/admin/tenants/wechatbinding/{binding.pk}/change/")
    assert "Not your applyment: send the licence" in history.content.decode()
    assert [(c.from_status, c.to_status) for c in binding.status_changes.order_by("id")] == [
        ("", "pending"), ("pending", "approved"), ("approved", "rejected"),
    ]
    with pytest.raises(IntegrityError), transaction.atomic():  # the history is append-only
        WeChatBindingStatusChange.objects.filter(binding=binding).update(reason="x")


def test_a_second_mall_claiming_the_same_number_stays_pending(
    mall, other_mall, claim, admin_client
):
    owned = claim(mall)
    binding_approve(binding=owned, sub_mchid=owned.sub_mchid, actor=Actor.system())

    thief = claim(other_mall)
    assert thief.status == BindingStatus.PENDING
    listing = admin_client.get("/admin/tenants/wechatbinding/").content.decode()
    assert mall.slug in listing and other_mall.slug in listing  # "also claimed by"

    answer = _review(admin_client, "approve", thief)
    assert answer.status_code == 302
    thief.refresh_from_db()
    assert thief.status == BindingStatus.PENDING
    assert list(thief.status_changes.values_list("to_status", flat=True)) == ["pending"]
    with pytest.raises(wechat_binding.BindingTaken) as excinfo:
        binding_approve(binding=thief, sub_mchid=thief.sub_mchid, actor=Actor.system())
    assert excinfo.value.status == 409
    assert binding_for_schema(other_mall.schema_name) is None
    assert binding_for_schema(mall.schema_name).pk == owned.pk
    shopper, order = _shopper_and_order(other_mall)
    with pytest.raises(errors.PaymentsUnavailable):
        services.payment_start(order=order, shopper=shopper, channel=PaymentChannel.NATIVE)


def test_a_claim_changed_since_the_admin_looked_is_not_approved(mall, claim, wechat_sim):
    first, second = sub_merchants(wechat_sim[1])[:2]
    binding = claim(mall, first)
    claim(mall, second)  # the owner switches numbers while the admin reads the first
    with pytest.raises(wechat_binding.BindingClaimChanged):
        binding_approve(binding=binding, sub_mchid=first["sub_mchid"], actor=Actor.system())
    assert WeChatBinding.objects.get(pk=binding.pk).status == BindingStatus.PENDING


def test_only_a_platform_admin_or_the_system_reviews(mall, claim):
    binding = claim(mall)
    for review in (binding_approve, binding_reject):
        with pytest.raises(wechat_binding.BindingReviewForbidden):
            review(binding=binding, sub_mchid=binding.sub_mchid, actor=Actor.staff(1),
                   reason="mine")
    assert WeChatBinding.objects.get(pk=binding.pk).status == BindingStatus.PENDING
    assert binding.status_changes.count() == 1


def test_the_demo_mall_is_approved_so_make_run_takes_payments(
    make_merchant, wechat_settings, sub_merchant
):
    merchant = make_merchant(slug="demo-seed").merchant
    demo_mall_seed(merchant=merchant, sub_mchid=sub_merchant["sub_mchid"],
                   sub_appid=sub_merchant["sub_appid"])
    binding = binding_for_schema(merchant.schema_name)
    assert binding is not None and binding.status == BindingStatus.APPROVED
    assert binding.status_changes.first().actor == Actor.system()
    with schema_context(merchant.schema_name):
        address = AddressFactory()
        order = order_place(
            shopper=address.shopper, address_id=address.pk,
            items=[CheckoutItem(SkuFactory(price_fen=100, stock=1).pk, 1)],
        )
        start = services.payment_start(order=order, shopper=address.shopper,
                                       channel=PaymentChannel.NATIVE)
        assert start.payment.sub_mchid == sub_merchant["sub_mchid"]
