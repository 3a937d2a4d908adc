"""Payouts against the WeChat simulator (real signatures, real encryption): profit sharing,
unfreeze and claw-back of a paid order, and transfers to a user's balance confirmed by the
user, with the final state delivered by a signed callback to a live server."""

from __future__ import annotations

import base64
import uuid

import pytest
import requests

from core import events
from simulators.wechat.signing import build_notification, response_headers
from storefront.distribution import plans
from storefront.distribution.services import distributor_assign
from storefront.orders.models import Order, OrderStatus
from storefront.orders.services import CheckoutItem, order_place
from storefront.payments import errors, profit_sharing, receivers, services, transfers
from storefront.payments.models import (
    PaymentChannel,
    ProfitShare,
    ProfitShareReceiver,
    ProfitShareReturn,
    ReceiverType,
    Transfer,
    TransferStatus,
    WeChatNotification,
)
from storefront.payments.tasks import query_pending_transfers, query_processing_profit_shares
from tenants import wechatpay_gateway
from tests.conftest import host_client
from tests.factories.shoppers import ShopperFactory
from tests.payments.conftest import sim_callbacks, sim_pay, wait_for
from tests.payments.conftest import test_user_openid as user_openid

LIVE_MALL_SLUG = "payout-mall"
TRANSFER_NOTIFY = "/api/v1/payments/wechat/transfer-notify/"
PARTNER_MCHID = "1900009999"  # a merchant receiver (e.g. a supplier), for claw-backs


def _key(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:20]}"


@pytest.fixture
def held(sim):
    """No callback leaves the simulator (the `mall` tests have no server to receive them);
    states are fetched by query, as the query jobs do."""
    sim.simulator.callbacks.hold(True)
    return sim


@pytest.fixture
def shop(mall, paying_mall, held, wechat_sim, wechat_settings):
    """A mall taking payments, its shopper (alice) and a referrer (bob) whose openid
    receives the shares."""
    merchant, sku, shopper, address = paying_mall(mall)
    sp_appid = wechat_settings.WECHATPAY_SP_APPID
    bob = user_openid(wechat_sim[0], sp_appid, "bob")
    referrer = ShopperFactory(wechat_openid=bob)
    # Payments are held for profit sharing only under a plan paying per order, when a
    # distributor may earn: bob is one.
    plans.plan_activate(plan_id=plans.plan_create(
        {"name": "per order", "tiers": 1, "rates_bp": [1000],
         "payout_route": "profit_sharing"}).pk)
    distributor_assign(shopper=referrer, staff_id=1)
    return {"merchant": merchant, "sku": sku, "shopper": shopper, "address": address,
            "referrer": referrer, "bob": bob, "sim": held, "sp_appid": sp_appid}


def _paid_payment(shop, *, referred: bool = True, quantity: int = 2):
    """An order paid at the simulator's cashier and applied by query (no callback)."""
    order = order_place(
        shopper=shop["shopper"], items=[CheckoutItem(sku_id=shop["sku"].pk, quantity=quantity)],
        address_id=shop["address"].pk,
        referrer_code=shop["referrer"].share_code if referred else None,
    )
    start = services.payment_start(
        order=order, shopper=shop["shopper"], channel=PaymentChannel.NATIVE
    )
    assert start.payment.profit_sharing is referred  # asked for at payment time
    sim_pay(shop["sim"], start.payment)
    payment, outcome = services.payment_query(payment=start.payment)
    assert outcome == "applied"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    return payment


def _sim_order(sim, sub_mchid: str, out_order_no: str):
    return sim.simulator.state.sharing_orders.get((sub_mchid, out_order_no))


def _finished(share):
    """Query until WeChat reports the order finished (the simulator keeps it PROCESSING for
    processing_delay, 0.05 s)."""
    return wait_for(lambda: (
        queried
        if (queried := profit_sharing.profit_share_query(share=share)[0]).status == "finished"
        else None
    ))


# Profit sharing ----------------------------------------------------------------------------


def test_share_ten_percent_finishes_after_query(shop):
    payment = _paid_payment(shop)
    assert payment.amount_fen == 5980
    out_order_no = _key("PS")

    share = profit_sharing.profit_share_create(
        payment=payment, out_order_no=out_order_no,
        receivers=[(shop["bob"], 598, "推广佣金")], unfreeze_unsplit=False,
    )

    assert share.status == "processing"
    assert share.amount_fen == 598
    assert share.order_id
    receiver = ProfitShareReceiver.objects.get()
    assert (receiver.receiver_type, receiver.account) == (ReceiverType.PERSONAL_OPENID,
                                                          shop["bob"])
    assert receiver.appid == shop["sp_appid"]
    sent = _sim_order(shop["sim"], payment.sub_mchid, out_order_no)
    assert [(line.type, line.account, line.amount) for line in sent.lines] == [
        ("PERSONAL_OPENID", shop["bob"], 598)
    ]

    assert wait_for(lambda: _sim_order(shop["sim"], payment.sub_mchid, out_order_no).state
                    == "FINISHED")
    ProfitShare.objects.filter(pk=share.pk).update(updated_at=share.updated_at.replace(year=2020))
    assert query_processing_profit_shares() == 1
    share.refresh_from_db()
    assert share.status == "finished"
    assert share.finished_at is not None
    line = share.lines.get()
    assert (line.result, line.amount_fen) == ("SUCCESS", 598)
    assert line.detail_id and line.finished_at
    assert query_processing_profit_shares() == 0  # nothing left open

    # a second share to the same receiver does not add it again
    profit_sharing.profit_share_create(
        payment=payment, out_order_no=_key("PS"), receivers=[(shop["bob"], 100, "推广佣金")],
        unfreeze_unsplit=False,
    )
    assert ProfitShareReceiver.objects.count() == 1


def test_over_the_max_ratio_is_refused_and_nothing_sent(shop):
    payment = _paid_payment(shop)
    cap_bp = 3000  # the simulator's sub-merchants' max_ratio
    over = payment.amount_fen * cap_bp // 10000 + 1
    out_order_no = _key("PS")

    with pytest.raises(errors.ProfitShareOverCap):
        profit_sharing.profit_share_create(
            payment=payment, out_order_no=out_order_no,
            receivers=[(shop["bob"], over, "推广佣金")], unfreeze_unsplit=False,
        )
    assert not ProfitShare.objects.exists()
    assert not ProfitShareReceiver.objects.exists()  # not even the receiver was added
    assert _sim_order(shop["sim"], payment.sub_mchid, out_order_no) is None

    # the cap counts everything already shared on the payment
    profit_sharing.profit_share_create(
        payment=payment, out_order_no=_key("PS"), receivers=[(shop["bob"], 1196, "20%")],
        unfreeze_unsplit=False,
    )
    with pytest.raises(errors.ProfitShareOverCap):
        profit_sharing.profit_share_create(
            payment=payment, out_order_no=out_order_no, receivers=[(shop["bob"], 599, "10%")],
            unfreeze_unsplit=False,
        )
    assert ProfitShare.objects.count() == 1
    assert _sim_order(shop["sim"], payment.sub_mchid, out_order_no) is None
    exactly = payment.amount_fen * cap_bp // 10000 - 1196
    share = profit_sharing.profit_share_create(
        payment=payment, out_order_no=out_order_no, receivers=[(shop["bob"], exactly, "10%")],
        unfreeze_unsplit=False,
    )
    assert share.status == "processing"  # up to the cap exactly is fine


@pytest.mark.parametrize(
    ("receivers", "field"),
    [
        ([("o" + f"{n:027d}", 1, "x") for n in range(51)], "receivers"),
        ([], "receivers"),
        ([("BOB", 0, "zero")], "receivers[0]"),
        ([("BOB", -5, "negative")], "receivers[0]"),
        ([("BOB", 1.5, "float")], "receivers[0]"),
        ([("BOB", 10, "")], "receivers[0]"),
        ([("BOB", 10, "a"), ("BOB", 10, "b")], "receivers[1]"),
    ],
)
def test_bad_receivers_are_refused_and_nothing_sent(shop, receivers, field):
    payment = _paid_payment(shop)
    receivers = [(shop["bob"] if a == "BOB" else a, n, d) for a, n, d in receivers]
    out_order_no = _key("PS")
    with pytest.raises(errors.PayoutInvalid) as excinfo:
        profit_sharing.profit_share_create(
            payment=payment, out_order_no=out_order_no, receivers=receivers,
            unfreeze_unsplit=False,
        )
    assert field in excinfo.value.fields
    assert not ProfitShare.objects.exists()
    assert _sim_order(shop["sim"], payment.sub_mchid, out_order_no) is None


def test_a_payment_without_profit_sharing_is_refused(shop):
    payment = _paid_payment(shop, referred=False)
    with pytest.raises(errors.PayoutNotAllowed):
        profit_sharing.profit_share_create(
            payment=payment, out_order_no=_key("PS"), receivers=[(shop["bob"], 10, "x")],
            unfreeze_unsplit=False,
        )
    assert not ProfitShare.objects.exists()


def test_a_retry_by_out_order_no_is_the_same_share(shop):
    payment = _paid_payment(shop)
    out_order_no = _key("PS")
    arguments = {"payment": payment, "out_order_no": out_order_no,
                 "receivers": [(shop["bob"], 598, "推广佣金")], "unfreeze_unsplit": False}

    first = profit_sharing.profit_share_create(**arguments)
    again = profit_sharing.profit_share_create(**arguments)  # re-sent: WeChat sees the same order

    assert again.pk == first.pk
    assert again.order_id == first.order_id
    assert ProfitShare.objects.count() == 1
    assert len([key for key in shop["sim"].simulator.state.sharing_orders
                if key[1] == out_order_no]) == 1
    finished = _finished(first)
    assert profit_sharing.profit_share_create(**arguments).status == "finished" == finished.status

    with pytest.raises(errors.PayoutKeyReused):
        profit_sharing.profit_share_create(
            **{**arguments, "receivers": [(shop["bob"], 1, "other")]}
        )


def test_unfreeze_returns_the_rest_to_the_sub_merchant(shop):
    payment = _paid_payment(shop)
    profit_sharing.profit_share_create(
        payment=payment, out_order_no=_key("PS"), receivers=[(shop["bob"], 598, "推广佣金")],
        unfreeze_unsplit=False,
    )
    out_order_no = _key("UF")

    unfreeze = profit_sharing.profit_share_unfreeze(
        payment=payment, out_order_no=out_order_no, description="解冻剩余资金"
    )
    assert unfreeze.kind == "unfreeze"
    unfreeze = _finished(unfreeze)

    assert unfreeze.status == "finished"
    line = unfreeze.lines.get()
    assert (line.receiver_type, line.account) == (ReceiverType.MERCHANT_ID, payment.sub_mchid)
    assert (line.amount_fen, line.result) == (5980 - 598, "SUCCESS")
    assert profit_sharing.profit_share_unfreeze(
        payment=payment, out_order_no=out_order_no, description="解冻剩余资金"
    ).pk == unfreeze.pk  # idempotent
    late = _key("PS")
    with pytest.raises(errors.PayoutNotAllowed):
        profit_sharing.profit_share_create(
            payment=payment, out_order_no=late, receivers=[(shop["bob"], 10, "x")],
            unfreeze_unsplit=False,
        )
    assert _sim_order(shop["sim"], payment.sub_mchid, late) is None


def test_claw_back_from_a_merchant_receiver(shop):
    payment = _paid_payment(shop)
    receiver = receivers.receiver_ensure_merchant(mchid=PARTNER_MCHID, name="示例供应链有限公司")
    assert receiver.receiver_type == ReceiverType.MERCHANT_ID
    added = shop["sim"].simulator.state.receivers[payment.sub_mchid][("MERCHANT_ID",
                                                                      PARTNER_MCHID)]
    assert added.name == "示例供应链有限公司"  # the simulator decrypted the encrypted name
    share = profit_sharing.profit_share_create(
        payment=payment, out_order_no=_key("PS"),
        receivers=[(PARTNER_MCHID, 300, "供货分成"), (shop["bob"], 200, "推广佣金")],
        unfreeze_unsplit=False,
    )
    assert sorted(share.lines.values_list("receiver_type", flat=True)) == [
        "MERCHANT_ID", "PERSONAL_OPENID"
    ]
    with pytest.raises(errors.PayoutNotAllowed):  # still processing
        profit_sharing.profit_share_return(share=share, out_return_no=_key("RT"), amount_fen=100,
                                    description="退款回退")
    share = _finished(share)
    out_return_no = _key("RT")

    share_return = profit_sharing.profit_share_return(
        share=share, out_return_no=out_return_no, amount_fen=100, description="用户退款"
    )
    assert share_return.status == "processing"
    assert share_return.return_mchid == PARTNER_MCHID
    assert profit_sharing.profit_share_return(
        share=share, out_return_no=out_return_no, amount_fen=100, description="用户退款"
    ).pk == share_return.pk  # idempotent
    assert wait_for(lambda: profit_sharing.profit_share_return_query(share_return=share_return)[1]
                    == "applied")
    share_return.refresh_from_db()
    assert share_return.status == "success"
    assert share_return.return_id and share_return.finished_at

    with pytest.raises(errors.PayoutNotAllowed):  # 300 shared, 100 returned: 200 left
        profit_sharing.profit_share_return(share=share, out_return_no=_key("RT"), amount_fen=201,
                                    description="too much")
    assert ProfitShareReturn.objects.count() == 1
    with pytest.raises(errors.PayoutNotAllowed):  # WeChat cannot claw back from a person
        profit_sharing.profit_share_return(share=share, out_return_no=_key("RT"), amount_fen=10,
                                    description="person", return_mchid=shop["bob"])


# Transfers: refused before sending, encrypted real name, retries, cancel -----------------------


def test_transfer_from_2000_yuan_needs_the_encrypted_real_name(shop):
    openid = shop["shopper"].wechat_openid
    out_bill_no = _key("TB")
    with pytest.raises(errors.RealNameRequired):
        transfers.transfer_create(out_bill_no=out_bill_no, openid=openid, amount_fen=200000,
                                remark="佣金提现")
    assert not Transfer.objects.exists()
    assert out_bill_no not in shop["sim"].simulator.state.transfers

    transfer = transfers.transfer_create(
        out_bill_no=out_bill_no, openid=openid, amount_fen=200000, remark="佣金提现",
        user_name="张三",
    )
    assert transfer.status == TransferStatus.WAIT_USER_CONFIRM
    assert transfer.package_info and transfer.transfer_bill_no
    assert transfer.real_name_given
    assert "张三" not in str(transfer.request)  # only WeChat can read it
    bill = shop["sim"].simulator.state.transfers[out_bill_no]
    assert bill.user_name == "张三"  # the simulator decrypted it with WeChat's key
    assert bill.notify_url.endswith(TRANSFER_NOTIFY)
    assert bill.transfer_amount == 200000


def test_a_lost_answer_is_recovered_by_sending_the_same_body(shop, monkeypatch):
    """WeChat created the bill but its answer never arrived: the row stays CREATED and the
    job sends the stored body again, encrypted name included, which WeChat accepts as the
    same bill."""
    import wechatpayv3.core

    real_post = requests.post

    def post_then_lose_answer(*args, **kwargs):
        real_post(*args, **kwargs)
        raise requests.ReadTimeout("answer lost")

    monkeypatch.setattr(wechatpayv3.core.requests, "post", post_then_lose_answer)
    out_bill_no = _key("TB")
    with pytest.raises(wechatpay_gateway.WeChatPayError):
        transfers.transfer_create(out_bill_no=out_bill_no, openid=shop["shopper"].wechat_openid,
                                amount_fen=250000, remark="佣金提现", user_name="李四")
    transfer = Transfer.objects.get(out_bill_no=out_bill_no)
    assert transfer.status == TransferStatus.CREATED
    assert "did not answer" in transfer.last_error
    monkeypatch.setattr(wechatpayv3.core.requests, "post", real_post)

    Transfer.objects.filter(pk=transfer.pk).update(updated_at=transfer.updated_at.replace(
        year=2020))
    assert query_pending_transfers() == 1
    transfer.refresh_from_db()
    bill = shop["sim"].simulator.state.transfers[out_bill_no]
    assert transfer.status == TransferStatus.WAIT_USER_CONFIRM
    assert transfer.transfer_bill_no == bill.transfer_bill_no  # one bill at WeChat


def test_a_transfer_refused_by_wechat_is_refused_for_good(shop):
    transfer_out = _key("TB")
    with pytest.raises(wechatpay_gateway.WeChatPayError):
        # an openid of nobody: WeChat refuses (PARAM_ERROR), no bill exists
        transfers.transfer_create(out_bill_no=transfer_out, openid="o" + "x" * 27,
                                amount_fen=100, remark="佣金提现")
    transfer = Transfer.objects.get(out_bill_no=transfer_out)
    assert transfer.status == TransferStatus.REFUSED
    assert transfer.last_error
    assert transfers.transfer_create(out_bill_no=transfer_out, openid="o" + "x" * 27,
                                   amount_fen=100, remark="佣金提现").status == "REFUSED"


def test_transfer_input_is_checked_before_sending(shop):
    openid = shop["shopper"].wechat_openid
    for arguments in (
        {"out_bill_no": "bad-no!", "amount_fen": 100, "remark": "x"},
        {"out_bill_no": _key("TB"), "amount_fen": 9, "remark": "x"},
        {"out_bill_no": _key("TB"), "amount_fen": 100, "remark": "x" * 33},
        {"out_bill_no": _key("TB"), "amount_fen": True, "remark": "x"},
    ):
        with pytest.raises(errors.PayoutInvalid):
            transfers.transfer_create(openid=openid, **arguments)
    assert not Transfer.objects.exists()


def test_transfer_retry_and_cancel(shop):
    openid = shop["shopper"].wechat_openid
    out_bill_no = _key("TB")
    transfer = transfers.transfer_create(out_bill_no=out_bill_no, openid=openid, amount_fen=1500,
                                       remark="佣金提现")
    again = transfers.transfer_create(out_bill_no=out_bill_no, openid=openid, amount_fen=1500,
                                    remark="佣金提现")
    assert again.pk == transfer.pk and Transfer.objects.count() == 1
    with pytest.raises(errors.PayoutKeyReused):
        transfers.transfer_create(out_bill_no=out_bill_no, openid=openid, amount_fen=1600,
                                remark="佣金提现")

    transfer = transfers.transfer_cancel(transfer=transfer)
    assert transfer.status == TransferStatus.CANCELING
    assert wait_for(lambda: transfers.transfer_query(transfer=transfer)[1] == "applied")
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.CANCELLED
    assert transfer.fail_reason == "MCH_CANCEL"
    with pytest.raises(errors.PayoutNotAllowed):
        transfers.transfer_cancel(transfer=transfer)


# Transfer callbacks: verified before believed, applied once ----------------------------------


def _transfer_resource(transfer, **overrides):
    resource = {
        "sp_mchid": "1900000100", "sub_mchid": transfer.sub_mchid,
        "out_bill_no": transfer.out_bill_no, "transfer_bill_no": transfer.transfer_bill_no,
        "appid": transfer.appid, "state": "SUCCESS", "transfer_amount": transfer.amount_fen,
        "transfer_remark": transfer.remark, "openid": transfer.openid,
        "create_time": "2026-11-25T12:00:00+08:00", "update_time": "2026-11-25T12:01:00+08:00",
    }
    resource.update(overrides)
    return resource


def _post_signed(merchant, credentials, resource, *, tamper=None):
    notification = build_notification(
        credentials, "MCHTRANSFER.BILL.FINISHED", "商家转账单据终态通知", "mch_payment", resource
    )
    headers = response_headers(credentials, notification.body)
    if tamper:
        tamper(headers)
    meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    return host_client(merchant).post(
        TRANSFER_NOTIFY, data=notification.body, content_type="application/json", **meta
    )


def test_transfer_callbacks_are_verified_and_applied_once(shop, sim_credentials):
    transfer = transfers.transfer_create(
        out_bill_no=_key("TB"), openid=shop["shopper"].wechat_openid, amount_fen=880,
        remark="佣金提现",
    )
    merchant = shop["merchant"]

    def forge(headers):
        headers["Wechatpay-Signature"] = base64.b64encode(b"x" * 256).decode()

    assert _post_signed(merchant, sim_credentials, _transfer_resource(transfer),
                        tamper=forge).status_code == 401
    assert _post_signed(merchant, sim_credentials,
                        _transfer_resource(transfer, transfer_amount=88000)).status_code == 400
    assert _post_signed(merchant, sim_credentials,
                        _transfer_resource(transfer, out_bill_no="NOSUCHBILL")).status_code == 400
    assert _post_signed(merchant, sim_credentials,
                        _transfer_resource(transfer, openid="o" + "y" * 27)).status_code == 400
    without_sub_mchid = _transfer_resource(transfer)
    del without_sub_mchid["sub_mchid"]
    assert _post_signed(merchant, sim_credentials, without_sub_mchid).status_code == 400
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.WAIT_USER_CONFIRM  # nothing changed
    # the four whose signature verified are kept, with why, for staff
    assert sorted(WeChatNotification.objects.values_list("outcome", "reason")) == [
        ("refused", "The amount does not match this transfer."),
        ("refused", "The payee does not match this transfer."),
        ("refused", "The sub-merchant does not match this transfer."),
        ("refused", "Unknown out_bill_no 'NOSUCHBILL'."),
    ]

    assert _post_signed(merchant, sim_credentials, _transfer_resource(transfer)).status_code == 200
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.SUCCESS
    finished_at = transfer.finished_at
    # a later, contradicting report changes nothing either
    response = _post_signed(merchant, sim_credentials,
                            _transfer_resource(transfer, state="FAIL", fail_reason="X"))
    assert response.status_code == 200
    transfer.refresh_from_db()
    assert (transfer.status, transfer.finished_at) == (TransferStatus.SUCCESS, finished_at)
    assert WeChatNotification.objects.exclude(outcome="refused").count() == 2


# Transfers end to end: the user decides, WeChat calls the live server back -------------------


FINAL_TRANSFER_EVENTS = ("transfer.success", "transfer.fail", "transfer.cancelled",
                         "transfer.refused")


@pytest.fixture
def final_transfers():
    """(out_bill_no, state) of every final transfer event published meanwhile, the live
    server's threads included: what a subscriber (e.g. a withdrawal) is told, once each."""
    with events.recorded() as recorded:
        yield lambda: [
            (event.data["out_bill_no"], event.data["to_status"])
            for event in recorded if event.name in FINAL_TRANSFER_EVENTS
        ]


@pytest.mark.usefixtures("committed_cleanup")
def test_user_confirms_and_the_callback_settles_the_transfer(live_mall, sim, final_transfers):
    merchant, sku, shopper, address = live_mall
    # WeChat sometimes delivers an acknowledged callback again: here, always
    requests.post(f"{sim.base_url}/_sim/settings", json={"duplicate_probability": 1.0},
                  timeout=5).raise_for_status()
    out_bill_no = _key("TB")
    transfer = transfers.transfer_create(
        out_bill_no=out_bill_no, openid=shopper.wechat_openid, amount_fen=1234, remark="佣金提现"
    )
    assert transfer.status == TransferStatus.WAIT_USER_CONFIRM
    assert transfer.package_info  # for wx.requestMerchantTransfer

    logged = len(sim_callbacks(sim))
    requests.post(f"{sim.base_url}/_sim/transfer/{transfer.transfer_bill_no}/confirm",
                  json={}, timeout=5).raise_for_status()

    assert wait_for(lambda: Transfer.objects.get(pk=transfer.pk).status == "SUCCESS")
    transfer.refresh_from_db()
    assert transfer.finished_at is not None
    assert final_transfers() == [(out_bill_no, "SUCCESS")]
    # the view records the notification just after applying it
    notification = wait_for(lambda: WeChatNotification.objects.first())
    assert (notification.event_type, notification.outcome) == (
        "MCHTRANSFER.BILL.FINISHED", "applied"
    )

    def deliveries():
        return [c for c in sim_callbacks(sim)[logged:] if c["url"].endswith(TRANSFER_NOTIFY)]

    delivered = wait_for(lambda: len(deliveries()) >= 2 and deliveries())
    assert [(c["kind"], c["status_code"]) for c in delivered] == [
        ("delivery", 200), ("duplicate", 200)
    ]
    assert "payout-mall.localhost" in delivered[0]["url"]

    transfer.refresh_from_db()
    assert transfer.status == "SUCCESS"
    assert WeChatNotification.objects.count() == 1
    assert final_transfers() == [(out_bill_no, "SUCCESS")]  # handled once


@pytest.mark.usefixtures("committed_cleanup")
def test_user_declines_and_the_transfer_fails(live_mall, sim, final_transfers):
    merchant, sku, shopper, address = live_mall
    transfer = transfers.transfer_create(
        out_bill_no=_key("TB"), openid=shopper.wechat_openid, amount_fen=500, remark="佣金提现"
    )
    requests.post(f"{sim.base_url}/_sim/transfer/{transfer.transfer_bill_no}/decline",
                  json={}, timeout=5).raise_for_status()

    assert wait_for(lambda: Transfer.objects.get(pk=transfer.pk).status == "FAIL")
    transfer.refresh_from_db()
    assert transfer.fail_reason == "OVERDUE_CLOSE"
    assert final_transfers() == [(transfer.out_bill_no, "FAIL")]


@pytest.mark.usefixtures("committed_cleanup")
def test_a_lost_transfer_callback_is_recovered_by_the_query_job(live_mall, sim):
    merchant, sku, shopper, address = live_mall
    transfer = transfers.transfer_create(
        out_bill_no=_key("TB"), openid=shopper.wechat_openid, amount_fen=700, remark="佣金提现"
    )
    sim.simulator.callbacks.hold(True)
    requests.post(f"{sim.base_url}/_sim/transfer/{transfer.transfer_bill_no}/confirm",
                  json={}, timeout=5).raise_for_status()
    assert query_pending_transfers() == 0  # too recent to chase
    Transfer.objects.filter(pk=transfer.pk).update(
        updated_at=transfer.updated_at.replace(year=2020)
    )
    assert query_pending_transfers() == 1
    assert Transfer.objects.get(pk=transfer.pk).status == "SUCCESS"
