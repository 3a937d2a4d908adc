"""API v3 request authentication and response signatures, as WeChat Pay checks them."""

from __future__ import annotations

import json
import time

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from wechatpayv3.utils import load_public_key, rsa_verify

from simulators.wechat import SP_PRIVATE_KEY_FILE, WECHATPAY_PUBLIC_KEY_FILE

from .wechat_helpers import authorization

PATH = "/v3/profitsharing/merchant-configs/1900000109"


@pytest.fixture(scope="module")
def sign(sim_state_dir, credentials):
    """Authorization for a request, with any part overridable to get it wrong."""
    private_key = (sim_state_dir / SP_PRIVATE_KEY_FILE).read_text()

    def _sign(method, target, body="", **overrides):
        return authorization(
            overrides.pop("key", private_key),
            overrides.pop("mchid", credentials["sp_mchid"]),
            overrides.pop("serial_no", credentials["sp_cert_serial"]),
            method,
            target,
            body,
            **overrides,
        )

    return _sign


def call(base_url, method, target, auth, body=""):
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    return requests.request(
        method, base_url + target, data=body.encode(), headers=headers, timeout=5
    )


def test_well_signed_request_gets_an_answer_signed_by_the_platform(
    base_url, sign, credentials, sim_state_dir
):
    answer = call(base_url, "GET", PATH, sign("GET", PATH))
    assert answer.status_code == 200
    assert answer.json() == {"sub_mchid": "1900000109", "max_ratio": 3000}
    headers = answer.headers
    assert headers["Wechatpay-Serial"] == credentials["wechatpay_public_key_id"]
    assert headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"
    public_key = load_public_key((sim_state_dir / WECHATPAY_PUBLIC_KEY_FILE).read_text())
    stamp, nonce, signature = (
        headers["Wechatpay-Timestamp"],
        headers["Wechatpay-Nonce"],
        headers["Wechatpay-Signature"],
    )
    assert abs(int(stamp) - time.time()) < 5
    assert rsa_verify(stamp, nonce, answer.text, signature, public_key)
    assert not rsa_verify(stamp, nonce, answer.text + " ", signature, public_key)


@pytest.mark.parametrize(
    "overrides",
    [
        {"serial_no": "0" * 40},
        {"timestamp_skew": -301},
        {"timestamp_skew": 400},
        {"mchid": "1900009999"},
    ],
    ids=["wrong serial", "stale timestamp", "future timestamp", "wrong mchid"],
)
def test_bad_authorization_is_refused(base_url, sign, overrides):
    overrides = dict(overrides)
    if "timestamp_skew" in overrides:  # relative to now, not to when the module was imported
        overrides["timestamp"] = int(time.time()) + overrides.pop("timestamp_skew")
    answer = call(base_url, "GET", PATH, sign("GET", PATH, **overrides))
    assert answer.status_code == 401
    assert answer.json()["code"] == "SIGN_ERROR"


def test_signature_covers_method_url_and_body(base_url, sign, credentials):
    body = json.dumps({"sp_mchid": credentials["sp_mchid"], "sub_mchid": "1900000109"})
    target = "/v3/pay/partner/transactions/out-trade-no/NOSUCHORDER1/close"
    signed = sign("POST", target, body)
    assert call(base_url, "POST", target, signed, body).status_code == 404
    tampered = body.replace("1900000109", "1900000110")
    assert call(base_url, "POST", target, signed, tampered).status_code == 401
    other_target = target.replace("NOSUCHORDER1", "NOSUCHORDER2")
    assert call(base_url, "POST", other_target, signed, body).status_code == 401
    assert call(base_url, "GET", PATH, sign("POST", PATH)).status_code == 401


def test_missing_or_foreign_authorization_is_refused(base_url, sign):
    assert call(base_url, "GET", PATH, "").status_code == 401
    assert call(base_url, "GET", PATH, "Bearer abc").json()["code"] == "SIGN_ERROR"
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger_pem = stranger.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    assert call(base_url, "GET", PATH, sign("GET", PATH, key=stranger_pem)).status_code == 401


def test_wechatpayv3_verifies_answers_and_unknown_paths_are_404(wxpay):
    code, message = wxpay.profitsharing_config_query("1900000109")
    assert (code, json.loads(message)["max_ratio"]) == (200, 3000)
    code, message = wxpay._core.request("/v3/no/such/api")
    assert code == 404 and json.loads(message)["code"] == "NOT_FOUND"


def test_wechatpayv3_rejects_an_answer_that_was_altered(base_url, sign, wxpay):
    answer = call(base_url, "GET", PATH, sign("GET", PATH))
    assert wxpay._core._verify_signature(answer.headers, answer.text)
    assert not wxpay._core._verify_signature(answer.headers, answer.text.replace("3000", "9000"))
