"""Partner transfer bills through wechatpayv3's core request (the library has no partner
wrapper): creation with an encrypted real name, user confirmation, cancellation, and the
MCHTRANSFER.BILL.FINISHED callback."""

from __future__ import annotations

import json

import pytest
import requests
from wechatpayv3.type import RequestType

from .wechat_helpers import html_forms, submit, unique, wait_until

BILLS = "/v3/fund-app/mch-transfer/partner/transfer-bills"
SUB = "1900000111"
REPORT = [
    {"info_type": "岗位类型", "info_content": "分销员"},
    {"info_type": "报酬说明", "info_content": "3月佣金"},
]


@pytest.fixture
def transfer(wxpay, users, receiver):
    """Start a transfer to Alice; returns (request body, answer status, answer)."""

    def _transfer(amount=1500, user_name=None, **changes):
        body = {
            "sub_mchid": SUB,
            "appid": wxpay._appid,
            "out_bill_no": unique("B"),
            "transfer_scene_id": "1005",
            "openid": users["alice"]["openid"],
            "transfer_amount": amount,
            "transfer_remark": "分销佣金",
            "notify_url": receiver.url(),
            "user_recv_perception": "劳务报酬",
            "transfer_scene_report_infos": REPORT,
            **changes,
        }
        if user_name:
            body["user_name"] = wxpay._core.encrypt(user_name)
        code, message = wxpay._core.request(
            BILLS, method=RequestType.POST, data=body, cipher_data=bool(user_name)
        )
        return body, code, json.loads(message)

    return _transfer


def query(wxpay, out_bill_no):
    code, message = wxpay._core.request(f"{BILLS}/out-bill-no/{out_bill_no}?sub_mchid={SUB}")
    return code, json.loads(message)


def test_confirmed_transfer_succeeds_with_a_callback(sim, wxpay, transfer, receiver, base_url):
    body, code, created = transfer(amount=250000, user_name="张三")
    assert (code, created["state"]) == (200, "WAIT_USER_CONFIRM")
    assert created["package_info"] and len(created["transfer_bill_no"]) == 40
    again = wxpay._core.request(BILLS, method=RequestType.POST, data=body, cipher_data=True)
    assert json.loads(again[1])["transfer_bill_no"] == created["transfer_bill_no"]

    confirmed = requests.post(
        f"{base_url}/_sim/transfer/{created['transfer_bill_no']}/confirm", timeout=5
    ).json()
    assert confirmed["state"] == "SUCCESS"
    (delivery,) = receiver.wait(body["notify_url"])
    decoded = wxpay.callback(delivery.headers, delivery.body)
    assert decoded["event_type"] == "MCHTRANSFER.BILL.FINISHED"
    assert decoded["resource"]["out_bill_no"] == body["out_bill_no"]
    assert decoded["resource"]["state"] == "SUCCESS"
    code, bill = query(wxpay, body["out_bill_no"])
    assert (code, bill["state"], bill["transfer_amount"]) == (200, "SUCCESS", 250000)
    code, message = wxpay._core.request(
        f"{BILLS}/transfer-bill-no/{created['transfer_bill_no']}?sub_mchid={SUB}"
    )
    assert json.loads(message)["out_bill_no"] == body["out_bill_no"]


def test_transfer_confirmed_on_the_page(wxpay, transfer, base_url):
    body, _, created = transfer()
    browser = requests.Session()
    page = browser.get(f"{base_url}/_sim/transfer/{created['transfer_bill_no']}", timeout=5)
    assert "¥15.00" in page.text and "劳务报酬" in page.text
    confirm, _ = html_forms(page.text)
    assert "已收款" in submit(browser, base_url, confirm).text
    assert query(wxpay, body["out_bill_no"])[1]["state"] == "SUCCESS"


def test_unconfirmed_transfer_fails_overdue(wxpay, transfer, base_url):
    _, _, created = transfer()
    declined = requests.post(
        f"{base_url}/_sim/transfer/{created['transfer_bill_no']}/decline", timeout=5
    ).json()
    assert (declined["state"], declined["fail_reason"]) == ("FAIL", "OVERDUE_CLOSE")
    again = requests.post(
        f"{base_url}/_sim/transfer/{created['transfer_bill_no']}/confirm", timeout=5
    )
    assert again.status_code == 400


def test_cancelled_transfer(wxpay, transfer, receiver):
    body, _, _ = transfer()
    code, message = wxpay._core.request(
        f"{BILLS}/out-bill-no/{body['out_bill_no']}/cancel",
        method=RequestType.POST,
        data={"sub_mchid": SUB},
    )
    assert (code, json.loads(message)["state"]) == (200, "CANCELING")
    assert wait_until(lambda: query(wxpay, body["out_bill_no"])[1]["state"] == "CANCELLED")
    (delivery,) = receiver.wait(body["notify_url"])
    assert wxpay.callback(delivery.headers, delivery.body)["resource"]["state"] == "CANCELLED"


@pytest.mark.parametrize(
    ("amount", "changes", "expected"),
    [
        (200000, {}, "/user_name"),  # from 2,000 yuan the real name is required
        (100, {"transfer_scene_report_infos": []}, "/transfer_scene_report_infos"),
        (100, {"out_bill_no": "B-1"}, "/out_bill_no"),
        (100, {"transfer_remark": "备" * 33}, "/transfer_remark"),
        (100, {"openid": "o-not-alice"}, "/openid"),
        (100, {"sub_mchid": "1234567890"}, "/sub_mchid"),
    ],
)
def test_transfer_fields_are_validated(transfer, amount, changes, expected):
    _, code, answer = transfer(amount=amount, **changes)
    assert (code, answer["code"], answer["detail"]["field"]) == (400, "PARAM_ERROR", expected)


def test_transfer_refusals(wxpay, transfer):
    _, code, answer = transfer(amount=9)
    assert (code, answer["code"]) == (400, "INVALID_REQUEST")  # below 0.1 yuan
    body, _, _ = transfer()
    code, message = wxpay._core.request(
        BILLS, method=RequestType.POST, data={**body, "transfer_amount": 1600}
    )
    assert (code, json.loads(message)["code"]) == (400, "INVALID_REQUEST")
    code, message = wxpay._core.request(
        BILLS,
        method=RequestType.POST,
        data={**body, "out_bill_no": unique("B"), "user_name": "bm90IGVuY3J5cHRlZA=="},
        cipher_data=True,
    )
    assert (code, json.loads(message)["detail"]["field"]) == (400, "/user_name")
    assert query(wxpay, "NOSUCHBILL")[0] == 404
