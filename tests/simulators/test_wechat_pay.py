"""Partner-mode ordering, query, close and the cashier, through wechatpayv3."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import requests
from wechatpayv3 import WeChatPayType
from wechatpayv3.type import RequestType

from simulators.wechat.clock import now, rfc3339

from .wechat_helpers import html_forms, pay, place_jsapi_order, submit, unique

SUB = "1900000109"


def test_jsapi_order_is_idempotent_by_out_trade_no(wxpay, users, receiver):
    notify = receiver.url()
    out_trade_no, prepay_id = place_jsapi_order(wxpay, SUB, users["alice"]["openid"], notify)
    assert prepay_id.startswith("wx")
    again = place_jsapi_order(
        wxpay, SUB, users["alice"]["openid"], notify, out_trade_no=out_trade_no
    )
    assert again == (out_trade_no, prepay_id)
    code, message = wxpay.pay(
        description="测试商品",
        out_trade_no=out_trade_no,
        amount={"total": 101},
        payer={"sp_openid": users["alice"]["openid"]},
        notify_url=notify,
        sub_mchid=SUB,
    )
    assert code == 400 and json.loads(message)["code"] == "INVALID_REQUEST"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"description": "长" * 43}, "/description"),  # 129 bytes: the limit counts bytes
        ({"out_trade_no": "T123"}, "/out_trade_no"),
        ({"out_trade_no": "T123#456"}, "/out_trade_no"),
        ({"notify_url": "https://shop.example/notify?x=1"}, "/notify_url"),
        ({"notify_url": "ftp://shop.example/notify"}, "/notify_url"),
        ({"amount": {"total": 0}}, "/amount/total"),
        ({"amount": {"total": 1.5}}, "/amount/total"),
        ({"amount": {"total": 100, "currency": "USD"}}, "/amount/currency"),
        ({"sub_mchid": "1234567890"}, "/sub_mchid"),
        ({"payer": {}}, "/payer/sp_openid"),
        ({"payer": {"sp_openid": "o-not-a-user-of-this-app"}}, "/payer/sp_openid"),
        ({"payer": {"sub_openid": "oSomeone"}}, "/sub_appid"),
        ({"time_expire": "2030-01-01 10:00:00"}, "/time_expire"),
        ({"time_expire": "2001-01-01T10:00:00+08:00"}, "/time_expire"),
        ({"sp_appid": "wx0000000000000000"}, "/sp_appid"),
    ],
)
def test_jsapi_order_fields_are_validated_like_wechat(wxpay, users, changes, field, sink):
    body = {
        "sp_appid": wxpay._appid,
        "sp_mchid": wxpay._mchid,
        "sub_mchid": SUB,
        "description": "测试商品",
        "out_trade_no": unique("V"),
        "notify_url": sink,
        "amount": {"total": 100},
        "payer": {"sp_openid": users["alice"]["openid"]},
        **changes,
    }
    code, message = wxpay._core.request(
        "/v3/pay/partner/transactions/jsapi", method=RequestType.POST, data=body
    )
    answer = json.loads(message)
    assert (code, answer["code"], answer["detail"]["field"]) == (400, "PARAM_ERROR", field)


def test_sub_openid_order_needs_the_sub_merchants_app(wxpay, base_url, sub_merchant, sink):
    sub_users = requests.get(
        f"{base_url}/_sim/users", params={"appid": sub_merchant["sub_appid"]}, timeout=5
    ).json()
    code, message = wxpay.pay(
        description="子商户公众号下单",
        out_trade_no=unique("S"),
        amount={"total": 88},
        payer={"sub_openid": sub_users[1]["openid"]},
        sub_appid=sub_merchant["sub_appid"],
        sub_mchid=sub_merchant["sub_mchid"],
        notify_url=sink,
    )
    assert code == 200
    prepay_id = json.loads(message)["prepay_id"]
    resource = pay(base_url, prepay_id).json()
    assert resource["payer"] == {"sub_openid": sub_users[1]["openid"]}
    assert resource["sub_appid"] == sub_merchant["sub_appid"]


def test_query_close_and_reorder(wxpay, users, base_url, sink):
    out_trade_no, prepay_id = place_jsapi_order(
        wxpay, SUB, users["bob"]["openid"], sink, attach="cart=42"
    )
    code, message = wxpay.query(out_trade_no=out_trade_no, sub_mchid=SUB)
    unpaid = json.loads(message)
    assert (code, unpaid["trade_state"], unpaid["attach"]) == (200, "NOTPAY", "cart=42")
    assert "transaction_id" not in unpaid

    assert wxpay.close(out_trade_no, sub_mchid=SUB)[0] == 204
    code, message = wxpay.query(out_trade_no=out_trade_no, sub_mchid=SUB)
    assert json.loads(message)["trade_state"] == "CLOSED"
    refused = pay(base_url, prepay_id)
    assert refused.status_code == 400 and refused.json()["code"] == "INVALID_REQUEST"
    code, message = wxpay.pay(
        description="测试商品",
        out_trade_no=out_trade_no,
        amount={"total": 100},
        payer={"sp_openid": users["bob"]["openid"]},
        sub_mchid=SUB,
        notify_url=sink,
    )
    assert code == 400 and json.loads(message)["code"] == "ORDER_CLOSED"

    code, message = wxpay.query(out_trade_no="NOSUCHORDER", sub_mchid=SUB)
    assert code == 404 and json.loads(message)["code"] == "ORDER_NOT_EXIST"
    code, message = wxpay.query(out_trade_no=out_trade_no, sub_mchid="1900000110")
    assert code == 404


def test_paid_order_by_both_numbers_and_cannot_be_closed(wxpay, users, base_url, sink):
    out_trade_no, prepay_id = place_jsapi_order(
        wxpay, SUB, users["carol"]["openid"], sink, total=1999
    )
    paid = pay(base_url, prepay_id).json()
    assert paid["trade_state"] == "SUCCESS" and len(paid["transaction_id"]) == 28
    code, message = wxpay.query(transaction_id=paid["transaction_id"], sub_mchid=SUB)
    resource = json.loads(message)
    assert resource == paid
    assert resource["amount"] == {
        "total": 1999,
        "payer_total": 1999,
        "currency": "CNY",
        "payer_currency": "CNY",
    }
    assert resource["payer"] == {"sp_openid": users["carol"]["openid"]}
    assert resource["trade_type"] == "JSAPI" and resource["success_time"].endswith("+08:00")
    code, message = wxpay.close(out_trade_no, sub_mchid=SUB)
    assert code == 400 and json.loads(message)["code"] == "ORDERPAID"
    assert pay(base_url, prepay_id).status_code == 400


def test_h5_order_is_paid_at_the_cashier_page(wxpay, base_url, users, sink):
    out_trade_no = unique("H")
    code, message = wxpay.pay(
        description="H5 商品",
        out_trade_no=out_trade_no,
        amount={"total": 250},
        scene_info={"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}},
        sub_mchid=SUB,
        notify_url=sink,
        pay_type=WeChatPayType.H5,
    )
    h5_url = json.loads(message)["h5_url"]
    assert code == 200 and h5_url.startswith(f"{base_url}/_sim/cashier/")
    browser = requests.Session()
    page = browser.get(h5_url, params={"redirect_url": "https://shop.example/done"}, timeout=5)
    assert "H5 商品" in page.text and "¥2.50" in page.text
    (form,) = html_forms(page.text)
    assert form["fields"]["redirect_url"] == "https://shop.example/done"
    done = submit(browser, base_url, form, 0, user="dave")
    # Like WeChat's H5 cashier: back to the merchant's redirect_url once paid.
    assert done.status_code == 302
    assert done.headers["Location"] == "https://shop.example/done"
    code, message = wxpay.query(out_trade_no=out_trade_no, sub_mchid=SUB)
    resource = json.loads(message)
    assert (resource["trade_state"], resource["trade_type"]) == ("SUCCESS", "MWEB")
    assert resource["payer"] == {"sp_openid": users["dave"]["openid"]}

    # Cancelling goes back too, and the transaction stays unpaid.
    cancel_no = unique("H")
    code, message = wxpay.pay(
        description="H5 商品", out_trade_no=cancel_no, amount={"total": 250},
        scene_info={"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}},
        sub_mchid=SUB, notify_url=sink, pay_type=WeChatPayType.H5,
    )
    page = browser.get(json.loads(message)["h5_url"],
                       params={"redirect_url": "https://shop.example/order/2?from=cashier"},
                       timeout=5)
    (form,) = html_forms(page.text)
    cancelled = submit(browser, base_url, form, 1)
    assert cancelled.status_code == 302
    assert cancelled.headers["Location"] == "https://shop.example/order/2?from=cashier"
    code, message = wxpay.query(out_trade_no=cancel_no, sub_mchid=SUB)
    assert json.loads(message)["trade_state"] == "NOTPAY"

    code, message = wxpay.pay(
        description="H5 商品",
        out_trade_no=unique("H"),
        amount={"total": 250},
        scene_info={"payer_client_ip": "203.0.113.7"},
        sub_mchid=SUB,
        notify_url=sink,
        pay_type=WeChatPayType.H5,
    )
    assert code == 400 and json.loads(message)["detail"]["field"] == "/scene_info/h5_info"


def test_native_order_cancel_then_pay_at_cashier(wxpay, base_url, sink):
    out_trade_no = unique("N")
    code, message = wxpay.pay(
        description="扫码商品",
        out_trade_no=out_trade_no,
        amount={"total": 1},
        sub_mchid=SUB,
        notify_url=sink,
        pay_type=WeChatPayType.NATIVE,
    )
    assert code == 200
    code_url = json.loads(message)["code_url"]
    browser = requests.Session()
    (form,) = html_forms(browser.get(code_url, timeout=5).text)
    cancelled = submit(browser, base_url, form, 1)
    assert "支付已取消" in cancelled.text
    assert json.loads(wxpay.query(out_trade_no=out_trade_no, sub_mchid=SUB)[1])["trade_state"] == (
        "NOTPAY"
    )
    submit(browser, base_url, form, 0)
    resource = json.loads(wxpay.query(out_trade_no=out_trade_no, sub_mchid=SUB)[1])
    assert (resource["trade_state"], resource["trade_type"]) == ("SUCCESS", "NATIVE")


def test_payment_failure_then_retry(wxpay, users, base_url, sink):
    out_trade_no, prepay_id = place_jsapi_order(wxpay, SUB, users["alice"]["openid"], sink)
    assert pay(base_url, prepay_id, outcome="PAYERROR").json()["trade_state"] == "PAYERROR"
    state = json.loads(wxpay.query(out_trade_no=out_trade_no, sub_mchid=SUB)[1])
    assert state["trade_state"] == "PAYERROR"
    assert pay(base_url, prepay_id).json()["trade_state"] == "SUCCESS"
    wrong_user = place_jsapi_order(wxpay, SUB, users["alice"]["openid"], sink)[1]
    assert pay(base_url, wrong_user, user="bob").status_code == 400


def test_expired_order_cannot_be_paid(wxpay, users, base_url, sink):
    expires = now().replace(microsecond=0) + timedelta(seconds=2)
    _, prepay_id = place_jsapi_order(
        wxpay,
        SUB,
        users["alice"]["openid"],
        sink,
        time_expire=rfc3339(expires),
    )
    time.sleep(max((expires - now()).total_seconds(), 0) + 0.05)
    refused = pay(base_url, prepay_id)
    assert refused.status_code == 400 and "过期" in refused.json()["message"]


def test_jsapi_front_end_pay_sign_is_checked(wxpay, users, base_url, credentials, sink):
    _, prepay_id = place_jsapi_order(wxpay, SUB, users["bob"]["openid"], sink)
    params = {
        "appId": credentials["sp_appid"],
        "timeStamp": str(int(time.time())),
        "nonceStr": "n0nce",
        "package": f"prepay_id={prepay_id}",
        "signType": "RSA",
    }
    params["paySign"] = wxpay.sign(
        [params["appId"], params["timeStamp"], params["nonceStr"], params["package"]]
    )
    forged = {**params, "nonceStr": "other"}
    refused = requests.post(f"{base_url}/_sim/jsapi/pay", json=forged, timeout=5)
    assert refused.status_code == 400 and refused.json()["code"] == "SIGN_ERROR"
    paid = requests.post(f"{base_url}/_sim/jsapi/pay", json=params, timeout=5).json()
    assert paid["trade_state"] == "SUCCESS"
