"""Every forged or malformed callback is refused and changes nothing (DESIGN §7)."""

import base64
import json
import math
import time

import pytest
from django.db import connection

from simulators.wechat.signing import build_notification, response_headers, sign
from storefront.orders.models import Order, OrderStatus
from storefront.orders.services import CheckoutItem, order_place
from storefront.payments import services
from storefront.payments.models import Payment, PaymentChannel, WeChatNotification
from tests.conftest import OWNER_PASSWORD, host_client

NOTIFY = "/api/v1/payments/wechat/notify/"


@pytest.fixture
def pending_payment(mall, paying_mall):
    merchant, sku, shopper, address = paying_mall(mall)
    order = order_place(
        shopper=shopper, items=[CheckoutItem(sku_id=sku.pk, quantity=1)], address_id=address.pk
    )
    start = services.payment_start(order=order, shopper=shopper, channel=PaymentChannel.NATIVE)
    return start.payment


def _resource(payment, **overrides):
    resource = {
        "sp_appid": "wx", "sp_mchid": "1900000100", "sub_mchid": payment.sub_mchid,
        "out_trade_no": payment.out_trade_no, "transaction_id": "4200000000000000000000001",
        "trade_type": "NATIVE", "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
        "success_time": "2026-11-25T12:00:00+08:00",
        "amount": {"total": payment.amount_fen, "payer_total": payment.amount_fen,
                   "currency": "CNY", "payer_currency": "CNY"},
    }
    resource.update(overrides)
    return resource


def _signed(credentials, resource):
    notification = build_notification(
        credentials, "TRANSACTION.SUCCESS", "支付成功", "transaction", resource
    )
    return notification.body, response_headers(credentials, notification.body)


def _post(merchant, body, headers):
    meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    return host_client(merchant).post(NOTIFY, data=body, content_type="application/json", **meta)


def _nothing_changed(payment, *, kept_because: str | None = None):
    """Nothing changed. A callback whose signature verified is kept with the reason it was
    refused (`kept_because`); one that did not verify is not even kept."""
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    assert Order.objects.get(pk=payment.order_id).status == OrderStatus.PENDING_PAYMENT
    kept = list(WeChatNotification.objects.values_list("outcome", "reason"))
    if kept_because is None:
        assert kept == []
    else:
        assert len(kept) == 1 and kept[0][0] == "refused" and kept_because in kept[0][1], kept


def test_a_genuine_callback_is_applied(mall, pending_payment, sim_credentials):
    body, headers = _signed(sim_credentials, _resource(pending_payment))
    response = _post(mall, body, headers)
    assert response.status_code == 200
    assert response.json() == {"code": "SUCCESS", "message": "OK"}
    assert Order.objects.get(pk=pending_payment.order_id).status == OrderStatus.PAID
    assert _post(mall, body, headers).status_code == 200  # a replay is acknowledged…
    assert Order.objects.get(pk=pending_payment.order_id).status_changes.filter(
        to_status="paid"
    ).count() == 1  # …and changes nothing


def test_bad_signature_is_refused(mall, pending_payment, sim_credentials):
    body, headers = _signed(sim_credentials, _resource(pending_payment))
    headers["Wechatpay-Signature"] = base64.b64encode(b"x" * 256).decode()
    assert _post(mall, body, headers).status_code == 401
    _nothing_changed(pending_payment)


def test_body_changed_after_signing_is_refused(mall, pending_payment, sim_credentials):
    body, headers = _signed(sim_credentials, _resource(pending_payment))
    assert _post(mall, body.replace(b'"summary":"', b'"summary":"x'), headers).status_code == 401
    _nothing_changed(pending_payment)


def test_unknown_serial_is_refused(mall, pending_payment, sim_credentials):
    body, headers = _signed(sim_credentials, _resource(pending_payment))
    headers["Wechatpay-Serial"] = "PUB_KEY_ID_0000000000000000000000000000"
    assert _post(mall, body, headers).status_code == 401
    _nothing_changed(pending_payment)


@pytest.mark.parametrize("skew", [-301, 301])
def test_timestamp_outside_300_seconds_is_refused(mall, pending_payment, sim_credentials, skew):
    body, headers = _signed(sim_credentials, _resource(pending_payment))
    # Rounded away from now: int(time.time()) + 301 is less than 301 s ahead by the
    # fraction of a second it dropped, and the request's own time can make up the rest.
    moved = time.time() + skew
    timestamp = str(math.ceil(moved) if skew > 0 else math.floor(moved))
    message = f"{timestamp}\n{headers['Wechatpay-Nonce']}\n".encode() + body + b"\n"
    headers["Wechatpay-Timestamp"] = timestamp
    headers["Wechatpay-Signature"] = sign(sim_credentials.wechatpay_private_key, message)
    assert _post(mall, body, headers).status_code == 401
    _nothing_changed(pending_payment)


def test_tampered_ciphertext_is_refused(mall, pending_payment, sim_credentials):
    body, _ = _signed(sim_credentials, _resource(pending_payment))
    envelope = json.loads(body)
    raw = bytearray(base64.b64decode(envelope["resource"]["ciphertext"]))
    raw[5] ^= 0xFF
    envelope["resource"]["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    body = json.dumps(envelope).encode()
    headers = response_headers(sim_credentials, body)  # correctly signed, undecryptable
    assert _post(mall, body, headers).status_code == 401
    _nothing_changed(pending_payment)


def test_wrong_amount_is_refused(mall, pending_payment, sim_credentials):
    resource = _resource(pending_payment)
    resource["amount"]["total"] += 1
    body, headers = _signed(sim_credentials, resource)
    response = _post(mall, body, headers)
    assert response.status_code == 400
    assert "amount" in response.json()["message"]
    _nothing_changed(pending_payment, kept_because="amount does not match")
    assert _post(mall, body, headers).status_code == 400  # WeChat delivers it again…
    assert WeChatNotification.objects.count() == 1  # …it is kept once


def test_a_refused_callback_is_shown_to_staff(mall, pending_payment, sim_credentials):
    resource = _resource(pending_payment)
    resource["amount"]["total"] += 1
    _post(mall, *_signed(sim_credentials, resource))
    staff = host_client(mall)
    assert staff.post("/console/login/", {"username": "owner@example.com",
                                          "password": OWNER_PASSWORD}).status_code == 302

    page = staff.get("/console/payments/alerts/").content.decode()

    assert "The amount does not match this payment." in page
    assert pending_payment.out_trade_no in page


def test_another_merchants_sub_mchid_is_refused(mall, pending_payment, sim_credentials):
    body, headers = _signed(sim_credentials, _resource(pending_payment, sub_mchid="1900000110"))
    response = _post(mall, body, headers)
    assert response.status_code == 400
    assert "sub-merchant" in response.json()["message"]
    _nothing_changed(pending_payment, kept_because="sub-merchant does not match")


def test_unknown_trade_is_refused(mall, pending_payment, sim_credentials):
    body, headers = _signed(
        sim_credentials, _resource(pending_payment, out_trade_no="20260101000000999999")
    )
    assert _post(mall, body, headers).status_code == 400
    _nothing_changed(pending_payment, kept_because="Unknown out_trade_no")


def test_signtest_probe_is_refused(mall, pending_payment, sim_credentials):
    from simulators.wechat.signing import signtest_headers

    body, _ = _signed(sim_credentials, _resource(pending_payment))
    assert _post(mall, body, signtest_headers(sim_credentials)).status_code == 401
    _nothing_changed(pending_payment)


def test_missing_headers_are_refused(mall, pending_payment, sim_credentials):
    body, _ = _signed(sim_credentials, _resource(pending_payment))
    assert _post(mall, body, {}).status_code == 401
    _nothing_changed(pending_payment)


def test_a_callback_for_mall_a_means_nothing_on_mall_b(
    mall, other_mall, pending_payment, sim_credentials
):
    body, headers = _signed(sim_credentials, _resource(pending_payment))
    response = _post(other_mall, body, headers)
    assert response.status_code == 400  # unknown out_trade_no in B's schema
    connection.set_tenant(mall)  # the request left this thread's connection on B
    _nothing_changed(pending_payment)  # kept in B's schema, not here
