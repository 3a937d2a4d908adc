"""Profit sharing through wechatpayv3: receivers, orders within max_ratio, unfreezing,
returns, the unsplit amount, and the PROFITSHARING.SUCCESS callback."""

from __future__ import annotations

import json

import pytest
import requests

from .wechat_helpers import pay, place_jsapi_order, unique, wait_until

SUB = "1900000110"
PARTNER_MCHID = "1900000333"


@pytest.fixture(scope="module")
def receivers(wxpay, users):
    """Bob (an openid) and a partner merchant, added once for the sub-merchant."""
    code, message = wxpay.profitsharing_add_receiver(
        "PERSONAL_OPENID", users["bob"]["openid"], "DISTRIBUTOR", sub_mchid=SUB
    )
    assert (code, json.loads(message)["type"]) == (200, "PERSONAL_OPENID")
    code, message = wxpay.profitsharing_add_receiver(
        "MERCHANT_ID", PARTNER_MCHID, "PARTNER", name="合作伙伴有限公司", sub_mchid=SUB
    )
    assert code == 200, message
    return users["bob"]["openid"]


@pytest.fixture
def paid(wxpay, users, base_url, sink):
    def _paid(total=10000, profit_sharing=True):
        _, prepay_id = place_jsapi_order(
            wxpay,
            SUB,
            users["alice"]["openid"],
            sink,
            total=total,
            profit_sharing=profit_sharing,
        )
        return pay(base_url, prepay_id).json()["transaction_id"]

    return _paid


def share(wxpay, transaction_id, lines, out_order_no=None, unfreeze_unsplit=False):
    code, message = wxpay.profitsharing_order(
        transaction_id, out_order_no or unique("P"), lines, unfreeze_unsplit, sub_mchid=SUB
    )
    return code, json.loads(message)


def unsplit(wxpay, transaction_id):
    return json.loads(wxpay.profitsharing_amount_query(transaction_id)[1])["unsplit_amount"]


def test_sharing_order_finishes_and_is_idempotent(wxpay, receivers, paid):
    transaction_id = paid()
    lines = [
        {"type": "PERSONAL_OPENID", "account": receivers, "amount": 1000, "description": "佣金"},
        {"type": "MERCHANT_ID", "account": PARTNER_MCHID, "amount": 500, "description": "服务费"},
    ]
    out_order_no = unique("P")
    code, order = share(wxpay, transaction_id, lines, out_order_no)
    assert (code, order["state"]) == (200, "PROCESSING")
    assert [r["result"] for r in order["receivers"]] == ["PENDING", "PENDING"]
    assert share(wxpay, transaction_id, lines, out_order_no)[1]["order_id"] == order["order_id"]

    def finished():
        answer = json.loads(
            wxpay.profitsharing_order_query(transaction_id, out_order_no, sub_mchid=SUB)[1]
        )
        return answer if answer["state"] == "FINISHED" else None

    done = wait_until(finished)
    assert [r["result"] for r in done["receivers"]] == ["SUCCESS", "SUCCESS"]
    assert unsplit(wxpay, transaction_id) == 8500


def test_sharing_is_capped_by_max_ratio(wxpay, receivers, paid):
    config = json.loads(wxpay.profitsharing_config_query(SUB)[1])
    assert config == {"sub_mchid": SUB, "max_ratio": 3000}
    transaction_id = paid(total=10000)
    line = {"type": "PERSONAL_OPENID", "account": receivers, "description": "佣金"}
    code, answer = share(wxpay, transaction_id, [{**line, "amount": 3001}])
    assert (code, answer["code"]) == (400, "INVALID_REQUEST")
    assert share(wxpay, transaction_id, [{**line, "amount": 2000}])[0] == 200
    code, answer = share(wxpay, transaction_id, [{**line, "amount": 1001}])
    assert code == 400 and "最大分账比例" in answer["message"]
    assert share(wxpay, transaction_id, [{**line, "amount": 1000}])[0] == 200


def test_sharing_refusals(wxpay, receivers, paid, users):
    line = {"type": "PERSONAL_OPENID", "account": receivers, "amount": 1, "description": "佣金"}
    code, answer = share(wxpay, paid(profit_sharing=False), [line])
    assert code == 400 and "profit_sharing" in answer["message"]
    stranger = {**line, "account": users["carol"]["openid"]}
    code, answer = share(wxpay, paid(), [stranger])
    assert code == 400 and "未添加" in answer["message"]
    code, answer = share(wxpay, paid(), [line] * 51)
    assert (code, answer["code"]) == (400, "PARAM_ERROR")
    code, answer = share(wxpay, "4200000000000000000000000000", [line])
    assert code == 404
    code, message = wxpay.profitsharing_add_receiver(
        "PERSONAL_OPENID", "o-someone-of-another-app", "USER", sub_mchid=SUB
    )
    assert (code, json.loads(message)["detail"]["field"]) == (400, "/account")
    code, message = wxpay.profitsharing_add_receiver(
        "MERCHANT_ID", "1900000444", "PARTNER", sub_mchid=SUB
    )
    assert (code, json.loads(message)["detail"]["field"]) == (400, "/name")


def test_deleted_receiver_cannot_be_paid(wxpay, users, paid):
    dave = users["dave"]["openid"]
    wxpay.profitsharing_add_receiver("PERSONAL_OPENID", dave, "STAFF", sub_mchid=SUB)
    code, message = wxpay.profitsharing_delete_receiver("PERSONAL_OPENID", dave, sub_mchid=SUB)
    assert (code, json.loads(message)["account"]) == (200, dave)
    line = {"type": "PERSONAL_OPENID", "account": dave, "amount": 1, "description": "x"}
    assert share(wxpay, paid(), [line])[0] == 400


def test_unfreeze_returns_the_rest_to_the_sub_merchant(wxpay, receivers, paid):
    transaction_id = paid(total=2000)
    line = {"type": "PERSONAL_OPENID", "account": receivers, "amount": 100, "description": "佣金"}
    share(wxpay, transaction_id, [line])
    assert unsplit(wxpay, transaction_id) == 1900
    code, message = wxpay.profitsharing_unfreeze(
        transaction_id, unique("U"), "解冻剩余资金", sub_mchid=SUB
    )
    answer = json.loads(message)
    assert code == 200 and answer["receivers"][0]["account"] == SUB
    assert answer["receivers"][0]["amount"] == 1900
    assert unsplit(wxpay, transaction_id) == 0
    code, answer = share(wxpay, transaction_id, [line])
    assert code == 400 and "解冻" in answer["message"]


def test_unfreeze_unsplit_closes_the_transaction_for_sharing(wxpay, receivers, paid):
    transaction_id = paid(total=1000)
    line = {"type": "PERSONAL_OPENID", "account": receivers, "amount": 100, "description": "佣金"}
    assert share(wxpay, transaction_id, [line], unfreeze_unsplit=True)[0] == 200
    assert unsplit(wxpay, transaction_id) == 0
    assert share(wxpay, transaction_id, [line])[0] == 400


def test_return_from_a_merchant_receiver(wxpay, receivers, paid):
    transaction_id = paid()
    out_order_no = unique("P")
    line = {"type": "MERCHANT_ID", "account": PARTNER_MCHID, "amount": 800, "description": "服务费"}
    share(wxpay, transaction_id, [line], out_order_no)
    wait_until(
        lambda: (
            json.loads(
                wxpay.profitsharing_order_query(transaction_id, out_order_no, sub_mchid=SUB)[1]
            )["state"]
            == "FINISHED"
        )
    )
    out_return_no = unique("B")
    code, message = wxpay.profitsharing_return(
        out_return_no, PARTNER_MCHID, 300, "用户退款", out_order_no=out_order_no, sub_mchid=SUB
    )
    created = json.loads(message)
    assert (code, created["result"], created["amount"]) == (200, "PROCESSING", 300)
    done = wait_until(
        lambda: (
            json.loads(
                wxpay.profitsharing_return_query(out_order_no, out_return_no, sub_mchid=SUB)[1]
            )["result"]
            == "SUCCESS"
        )
    )
    assert done
    code, message = wxpay.profitsharing_return(
        unique("B"), PARTNER_MCHID, 501, "再退", out_order_no=out_order_no, sub_mchid=SUB
    )
    assert (code, json.loads(message)["code"]) == (403, "NOT_ENOUGH")
    code, message = wxpay.profitsharing_return(
        unique("B"), "1900000999", 1, "错误接收方", out_order_no=out_order_no, sub_mchid=SUB
    )
    assert code == 400


def test_sharing_callback_when_a_notify_url_is_configured(
    sim, wxpay, receivers, paid, receiver, base_url
):
    notify = receiver.url()
    requests.post(
        f"{base_url}/_sim/settings", json={"profitsharing_notify_url": notify}, timeout=5
    ).raise_for_status()
    transaction_id = paid()
    line = {"type": "PERSONAL_OPENID", "account": receivers, "amount": 10, "description": "佣金"}
    _, order = share(wxpay, transaction_id, [line])
    (delivery,) = receiver.wait(notify)
    decoded = wxpay.callback(delivery.headers, delivery.body)
    assert decoded["event_type"] == "PROFITSHARING.SUCCESS"
    assert decoded["resource"]["order_id"] == order["order_id"]
    assert decoded["resource"]["receiver"]["amount"] == 10
