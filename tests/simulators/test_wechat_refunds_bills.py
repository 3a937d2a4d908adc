"""Refunds (PROCESSING, then SUCCESS with a callback) and trade bills (CSV in WeChat's
layout, SHA-1 checked, alterable for reconciliation tests)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json

import pytest
import requests

from simulators.wechat.clock import now

from .wechat_helpers import pay, place_jsapi_order, unique, wait_until

SUB = "1900000109"


@pytest.fixture
def paid_order(wxpay, users, base_url, sink):
    _, prepay_id = place_jsapi_order(wxpay, SUB, users["alice"]["openid"], sink, total=1000)
    return pay(base_url, prepay_id).json()


def refund(wxpay, order, amount, out_refund_no=None, **extra):
    code, message = wxpay.refund(
        out_refund_no=out_refund_no or unique("R"),
        amount={"refund": amount, "total": order["amount"]["total"], "currency": "CNY"},
        transaction_id=order["transaction_id"],
        sub_mchid=order["sub_mchid"],
        **extra,
    )
    return code, json.loads(message)


def test_refund_processes_then_succeeds_with_a_callback(sim, wxpay, paid_order, receiver):
    notify = receiver.url()
    code, created = refund(wxpay, paid_order, 300, reason="尺码不合适", notify_url=notify)
    assert (code, created["status"]) == (200, "PROCESSING")
    assert created["amount"]["refund"] == 300 and len(created["refund_id"]) == 29
    (delivery,) = receiver.wait(notify)
    decoded = wxpay.callback(delivery.headers, delivery.body)
    assert decoded["event_type"] == "REFUND.SUCCESS"
    resource = decoded["resource"]
    assert (resource["out_refund_no"], resource["refund_status"]) == (
        created["out_refund_no"],
        "SUCCESS",
    )
    assert resource["amount"] == {
        "total": 1000,
        "refund": 300,
        "payer_total": 1000,
        "payer_refund": 300,
    }
    code, message = wxpay.query_refund(created["out_refund_no"], sub_mchid=SUB)
    assert json.loads(message)["status"] == "SUCCESS"
    code, message = wxpay.query(transaction_id=paid_order["transaction_id"], sub_mchid=SUB)
    assert json.loads(message)["trade_state"] == "REFUND"


def test_refund_is_idempotent_and_bounded(wxpay, paid_order):
    out_refund_no = unique("R")
    code, first = refund(wxpay, paid_order, 600, out_refund_no)
    assert code == 200
    code, again = refund(wxpay, paid_order, 600, out_refund_no)
    assert (code, again["refund_id"]) == (200, first["refund_id"])
    code, conflict = refund(wxpay, paid_order, 500, out_refund_no)
    assert (code, conflict["code"]) == (400, "INVALID_REQUEST")
    code, too_much = refund(wxpay, paid_order, 401)
    assert (code, too_much["code"]) == (400, "INVALID_REQUEST")
    assert refund(wxpay, paid_order, 400)[0] == 200


def test_refund_refusals(wxpay, users, paid_order, sink):
    code, answer = wxpay.refund(
        out_refund_no=unique("R"),
        amount={"refund": 1, "total": 999, "currency": "CNY"},
        transaction_id=paid_order["transaction_id"],
        sub_mchid=SUB,
    )
    assert (code, answer and json.loads(answer)["detail"]["field"]) == (400, "/amount/total")
    unpaid, _ = place_jsapi_order(wxpay, SUB, users["alice"]["openid"], sink)
    code, answer = wxpay.refund(
        out_refund_no=unique("R"),
        amount={"refund": 1, "total": 100, "currency": "CNY"},
        out_trade_no=unpaid,
        sub_mchid=SUB,
    )
    assert (code, json.loads(answer)["code"]) == (400, "INVALID_REQUEST")
    code, answer = wxpay.query_refund("NOSUCHREFUND", sub_mchid=SUB)
    assert (code, json.loads(answer)["code"]) == (404, "RESOURCE_NOT_EXISTS")


@pytest.fixture(scope="module")
def bill_merchant(base_url):
    """A sub-merchant of its own, so the bill holds exactly this module's rows."""
    requests.post(f"{base_url}/_sim/sub-merchants", json={"sub_mchid": "1900000201"}, timeout=5)
    return "1900000201"


def parse_bill(content: bytes) -> tuple[list[dict], dict]:
    rows = list(csv.reader(io.StringIO(content.decode())))
    header, *body = rows
    summary_header, summary = body[-2], body[-1]
    records = [
        dict(zip(header, (v.removeprefix("`") for v in row), strict=True)) for row in body[:-2]
    ]
    return records, dict(zip(summary_header, (v.removeprefix("`") for v in summary), strict=True))


def download(wxpay, sub_mchid, bill_type="ALL", tar_type="GZIP"):
    bill_date = now().date().isoformat()
    if tar_type:
        code, message = wxpay.trade_bill(bill_date, bill_type, tar_type, sub_mchid=sub_mchid)
    else:  # wechatpayv3's trade_bill() would send tar_type=None literally
        code, message = wxpay._core.request(
            f"/v3/bill/tradebill?bill_date={bill_date}&bill_type={bill_type}&sub_mchid={sub_mchid}"
        )
    assert code == 200, message
    answer = json.loads(message)
    code, content = wxpay.download_bill(answer["download_url"])
    assert code == 200
    csv_bytes = gzip.decompress(content) if tar_type else content
    assert answer["hash_type"] == "SHA1"
    assert answer["hash_value"] == hashlib.sha1(csv_bytes, usedforsecurity=False).hexdigest()
    return parse_bill(csv_bytes)


def test_trade_bill_lists_the_days_payments_and_refunds(
    sim, wxpay, base_url, users, bill_merchant, sink
):
    orders = []
    for total in (1000, 250):
        _, prepay_id = place_jsapi_order(
            wxpay,
            bill_merchant,
            users["bob"]["openid"],
            sink,
            total=total,
        )
        orders.append(pay(base_url, prepay_id).json())
    refund_no = refund(wxpay, orders[0], 100)[1]["out_refund_no"]
    wait_until(
        lambda: (
            json.loads(wxpay.query_refund(refund_no, sub_mchid=bill_merchant)[1])["status"]
            == "SUCCESS"
        )
    )

    rows, summary = download(wxpay, bill_merchant)
    assert [(r["商户订单号"], r["交易状态"]) for r in rows] == [
        (orders[0]["out_trade_no"], "SUCCESS"),
        (orders[1]["out_trade_no"], "SUCCESS"),
        (orders[0]["out_trade_no"], "REFUND"),
    ]
    payment, _, refund_row = rows
    assert payment["微信订单号"] == orders[0]["transaction_id"]
    assert (payment["应结订单金额"], payment["特约商户号"]) == ("10.00", bill_merchant)
    assert payment["用户标识"] == users["bob"]["openid"]
    assert (refund_row["商户退款单号"], refund_row["退款金额"]) == (refund_no, "1.00")
    assert refund_row["退款状态"] == "SUCCESS"
    assert summary["总交易单数"] == "3"
    assert (summary["应结订单总金额"], summary["退款总金额"]) == ("12.50", "1.00")

    refunds_only, _ = download(wxpay, bill_merchant, bill_type="REFUND", tar_type=None)
    assert [r["交易状态"] for r in refunds_only] == ["REFUND"]


def test_bill_can_be_tampered_for_reconciliation_tests(
    sim, wxpay, base_url, users, bill_merchant, sink
):
    orders = []
    for total in (300, 400):
        _, prepay_id = place_jsapi_order(
            wxpay,
            bill_merchant,
            users["carol"]["openid"],
            sink,
            total=total,
        )
        orders.append(pay(base_url, prepay_id).json())
    today = now().date().isoformat()
    tamper = f"{base_url}/_sim/bill-tamper"
    requests.post(
        tamper,
        json={"bill_date": today, "out_trade_no": orders[0]["out_trade_no"], "action": "drop"},
        timeout=5,
    ).raise_for_status()
    changed = requests.post(
        tamper,
        json={
            "bill_date": today,
            "out_trade_no": orders[1]["out_trade_no"],
            "action": "change",
            "changes": {"应结订单金额": "3.99", "订单金额": "3.99"},
        },
        timeout=5,
    )
    assert changed.status_code == 200
    try:
        rows, summary = download(wxpay, bill_merchant)
        numbers = {r["商户订单号"]: r for r in rows}
        assert orders[0]["out_trade_no"] not in numbers
        assert numbers[orders[1]["out_trade_no"]]["应结订单金额"] == "3.99"
        assert summary["总交易单数"] == str(len(rows))
    finally:
        requests.delete(tamper, timeout=5)
    rows, _ = download(wxpay, bill_merchant)
    assert orders[0]["out_trade_no"] in {r["商户订单号"] for r in rows}
    bad = requests.post(
        tamper,
        json={
            "bill_date": today,
            "out_trade_no": "x",
            "action": "change",
            "changes": {"no such column": "1"},
        },
        timeout=5,
    )
    assert bad.status_code == 400


def test_bill_refusals(wxpay, bill_merchant):
    code, message = wxpay.trade_bill("2001-01-01", sub_mchid=bill_merchant)
    assert (code, json.loads(message)["code"]) == (400, "NO_STATEMENT_EXIST")
    code, message = wxpay.trade_bill("2999-01-01", sub_mchid=bill_merchant)
    assert (code, json.loads(message)["code"]) == (400, "PARAM_ERROR")
    code, message = wxpay.trade_bill("01/02/2024", sub_mchid=bill_merchant)
    assert code == 400
    code, _ = wxpay.download_bill(f"{wxpay._core._gate_way}/v3/billdownload/file?token=bogus")
    assert code == 404
