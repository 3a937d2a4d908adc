"""Callbacks: signed, encrypted, decodable by wechatpayv3; retried on WeChat's schedule
when refused; sometimes delivered twice; held to stage a lost callback; SIGNTEST probes."""

from __future__ import annotations

import json

import requests

from simulators.wechat.callbacks import RETRY_SCHEDULE

from .wechat_helpers import pay, place_jsapi_order, wait_until

SUB = "1900000109"


def callbacks_for(base_url, url):
    log = requests.get(f"{base_url}/_sim/callbacks", timeout=5).json()
    return [entry for entry in log if entry["url"] == url]


def logged(base_url, url, count=1):
    """The attempts logged for `url` once there are `count` of them: an attempt is logged
    after the merchant answered, so the log can trail what the receiver saw."""

    def enough():
        entries = callbacks_for(base_url, url)
        return entries if len(entries) >= count else None

    return wait_until(enough) or callbacks_for(base_url, url)


def settings(base_url, **values):
    requests.post(f"{base_url}/_sim/settings", json=values, timeout=5).raise_for_status()


def test_payment_callback_verifies_and_decrypts_with_wechatpayv3(
    sim, wxpay, users, receiver, base_url, credentials
):
    notify = receiver.url()
    out_trade_no, prepay_id = place_jsapi_order(
        wxpay, SUB, users["alice"]["openid"], notify, total=321
    )
    pay(base_url, prepay_id)
    (delivery,) = receiver.wait(notify)
    assert delivery.headers["Wechatpay-Serial"] == credentials["wechatpay_public_key_id"]
    assert delivery.headers["Content-Type"] == "application/json"
    decoded = wxpay.callback(delivery.headers, delivery.body)
    assert decoded["event_type"] == "TRANSACTION.SUCCESS"
    assert decoded["resource_type"] == "encrypt-resource"
    resource = decoded["resource"]
    assert (resource["out_trade_no"], resource["trade_state"]) == (out_trade_no, "SUCCESS")
    assert resource["amount"]["payer_total"] == 321
    assert resource["sub_mchid"] == SUB and resource["sp_mchid"] == credentials["sp_mchid"]
    envelope = json.loads(delivery.body)
    assert envelope["resource"]["algorithm"] == "AEAD_AES_256_GCM"
    assert envelope["resource"]["original_type"] == "transaction"
    assert wxpay.callback(delivery.headers, delivery.body.replace(b"SUCCESS", b"SUCCES5")) is None
    (entry,) = logged(base_url, notify)
    assert (entry["attempt"], entry["status_code"], entry["outcome"]) == (1, 200, "acknowledged")


def test_refused_callback_is_retried_until_acknowledged(sim, wxpay, users, receiver, base_url):
    notify = receiver.url()
    receiver.answer(notify, 500, 503)
    _, prepay_id = place_jsapi_order(wxpay, SUB, users["bob"]["openid"], notify)
    pay(base_url, prepay_id)
    deliveries = receiver.wait(notify, count=3)
    assert len({json.loads(d.body)["id"] for d in deliveries}) == 1
    entries = logged(base_url, notify, 3)
    assert [(e["attempt"], e["status_code"]) for e in entries] == [(1, 500), (2, 503), (3, 200)]
    assert [e["outcome"] for e in entries] == ["failed", "failed", "acknowledged"]


def test_retries_stop_after_wechats_schedule(sim, wxpay, users, receiver, base_url):
    settings(base_url, time_scale=0.00001)  # the whole 24 h schedule in under a second
    notify = receiver.url()
    receiver.answer(notify, *[500] * 40)
    _, prepay_id = place_jsapi_order(wxpay, SUB, users["carol"]["openid"], notify)
    pay(base_url, prepay_id)
    attempts = len(RETRY_SCHEDULE) + 1
    receiver.wait(notify, count=attempts, timeout=10)
    entries = logged(base_url, notify, attempts)
    assert [e["attempt"] for e in entries] == list(range(1, attempts + 1))
    assert all(e["outcome"] == "failed" for e in entries)
    assert len(receiver.at(notify)) == attempts  # and no more after the last


def test_unreachable_merchant_counts_as_a_failed_attempt(sim, wxpay, users, base_url):
    notify = "http://127.0.0.1:9/unreachable"
    _, prepay_id = place_jsapi_order(wxpay, SUB, users["dave"]["openid"], notify)
    pay(base_url, prepay_id)
    first, second = logged(base_url, notify, 2)[:2]
    assert first["status_code"] is None and "ConnectionError" in first["error"]
    assert (second["attempt"], second["outcome"]) == (2, "failed")


def test_acknowledged_callback_can_arrive_twice(sim, wxpay, users, receiver, base_url):
    settings(base_url, duplicate_probability=1.0)
    notify = receiver.url()
    _, prepay_id = place_jsapi_order(wxpay, SUB, users["alice"]["openid"], notify)
    pay(base_url, prepay_id)
    first, second = receiver.wait(notify, count=2)
    assert first.body == second.body  # same notification id and resource
    assert wxpay.callback(second.headers, second.body)["resource"]["trade_state"] == "SUCCESS"
    assert [e["kind"] for e in logged(base_url, notify, 2)] == ["delivery", "duplicate"]


def test_held_callback_is_lost_and_the_payment_recovered_by_query(
    sim, wxpay, users, receiver, base_url
):
    hold = requests.post(f"{base_url}/_sim/callbacks/hold", json={"on": True}, timeout=5).json()
    assert hold["holding"] is True
    notify = receiver.url()
    out_trade_no, prepay_id = place_jsapi_order(wxpay, SUB, users["bob"]["openid"], notify)
    pay(base_url, prepay_id)
    assert logged(base_url, notify)[0]["outcome"] == "held"
    dropped = requests.post(f"{base_url}/_sim/callbacks/hold", json={"on": False}, timeout=5)
    assert dropped.json() == {"holding": False, "held": 0, "released": 0}
    code, message = wxpay.query(out_trade_no=out_trade_no, sub_mchid=SUB)
    assert (code, json.loads(message)["trade_state"]) == (200, "SUCCESS")
    assert receiver.at(notify) == []


def test_held_callbacks_can_be_released(sim, wxpay, users, receiver, base_url):
    requests.post(f"{base_url}/_sim/callbacks/hold", json={"on": True}, timeout=5)
    notify = receiver.url()
    _, prepay_id = place_jsapi_order(wxpay, SUB, users["carol"]["openid"], notify)
    pay(base_url, prepay_id)
    logged(base_url, notify)
    released = requests.post(
        f"{base_url}/_sim/callbacks/hold", json={"on": False, "release": True}, timeout=5
    ).json()
    assert released["released"] >= 1
    (delivery,) = receiver.wait(notify)
    assert wxpay.callback(delivery.headers, delivery.body)["event_type"] == "TRANSACTION.SUCCESS"


def test_signtest_probe_fails_verification(sim, wxpay, receiver, base_url):
    notify = receiver.url()
    receiver.verify_with(notify, wxpay)  # a merchant that checks signatures answers 401
    entry = requests.post(f"{base_url}/_sim/signtest", json={"url": notify}, timeout=5).json()
    (delivery,) = receiver.at(notify)
    assert delivery.headers["Wechatpay-Signature"].startswith("WECHATPAY/SIGNTEST/")
    assert (entry["kind"], entry["status_code"]) == ("signtest", 401)
    assert (
        requests.post(f"{base_url}/_sim/signtest", json={"url": "nope"}, timeout=5).status_code
        == 400
    )


def test_localhost_subdomains_are_posted_to_loopback_with_their_host():
    from simulators.wechat.callbacks import loopback_target

    assert loopback_target("http://demo.localhost:8000/api/v1/payments/wechat/notify/") == (
        "http://127.0.0.1:8000/api/v1/payments/wechat/notify/",
        "demo.localhost:8000",
    )
    assert loopback_target("https://mall.example.com/notify") == (
        "https://mall.example.com/notify", None
    )
