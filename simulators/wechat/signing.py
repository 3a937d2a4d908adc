"""API v3 wire security, as WeChat Pay does it.

Requests: `Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,signature=…,
timestamp=…,serial_no=…`, an RSA-SHA256 (PKCS#1 v1.5) signature with the merchant's key
over `METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n`, URL being the request target as sent
(path and query). Responses and callbacks: `Wechatpay-*` headers with a signature by the
platform key over `TIMESTAMP\\nNONCE\\nBODY\\n`. Callback resources: AES-256-GCM under the
APIv3 key. Sensitive request fields: RSA-OAEP (SHA-1) to the platform public key."""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import ids
from .clock import now, rfc3339
from .errors import ApiError, param_error
from .keys import Credentials

AUTH_SCHEME = "WECHATPAY2-SHA256-RSA2048"
TIMESTAMP_TOLERANCE = 300
SIGNTEST_PREFIX = "WECHATPAY/SIGNTEST/"
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


def _sign_error(message: str) -> ApiError:
    return ApiError(401, "SIGN_ERROR", message)


def verify_request(
    credentials: Credentials, method: str, target: str, authorization: str, body: bytes
) -> str:
    """Check a merchant request's Authorization header; return the caller's mchid."""
    scheme, _, params_text = authorization.partition(" ")
    if scheme != AUTH_SCHEME:
        raise _sign_error("Authorization 缺失或认证类型不是 WECHATPAY2-SHA256-RSA2048")
    params = dict(_AUTH_PARAM.findall(params_text))
    missing = [
        name
        for name in ("mchid", "nonce_str", "signature", "timestamp", "serial_no")
        if not params.get(name)
    ]
    if missing:
        raise _sign_error(f"Authorization 缺少 {', '.join(missing)}")
    if params["mchid"] != credentials.sp_mchid:
        raise _sign_error(f"商户号 {params['mchid']} 不存在或未开通 APIv3")
    if params["serial_no"].upper() != credentials.sp_cert_serial:
        raise _sign_error("商户证书序列号有误，请检查 serial_no")
    try:
        timestamp = int(params["timestamp"])
    except ValueError:
        raise _sign_error("timestamp 不是整数") from None
    if abs(time.time() - timestamp) > TIMESTAMP_TOLERANCE:
        raise _sign_error("请求时间戳与当前时间相差超过5分钟")
    message = f"{method}\n{target}\n{params['timestamp']}\n{params['nonce_str']}\n"
    if not _verify(credentials.sp_public_key, message.encode() + body + b"\n", params["signature"]):
        raise _sign_error("签名错误，请检查签名串与签名算法")
    return params["mchid"]


def response_headers(credentials: Credentials, body: bytes) -> dict[str, str]:
    """The `Wechatpay-*` headers that sign a response or a callback body."""
    timestamp = str(int(time.time()))
    nonce = ids.nonce()
    message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Serial": credentials.wechatpay_public_key_id,
        "Wechatpay-Signature": sign(credentials.wechatpay_private_key, message),
        "Wechatpay-Signature-Type": AUTH_SCHEME,
    }


def signtest_headers(credentials: Credentials) -> dict[str, str]:
    """Headers of a signature probe: WeChat sends callbacks whose signature is deliberately
    invalid (prefixed WECHATPAY/SIGNTEST/) to check that merchants really verify."""
    headers = response_headers(credentials, b"")
    headers["Wechatpay-Signature"] = (
        SIGNTEST_PREFIX + base64.b64encode(ids.token(64).encode()).decode()
    )
    return headers


def sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    signature = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def _verify(public_key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_jsapi_pay_sign(
    credentials: Credentials, app_id: str, timestamp: str, nonce: str, package: str, pay_sign: str
) -> bool:
    """The `paySign` of wx.requestPayment / WeixinJSBridge: RSA over
    `appId\\ntimeStamp\\nnonceStr\\npackage\\n` with the merchant's key."""
    message = f"{app_id}\n{timestamp}\n{nonce}\n{package}\n".encode()
    return _verify(credentials.sp_public_key, message, pay_sign)


def decrypt_sensitive(credentials: Credentials, field: str, ciphertext: str) -> str:
    """A field the merchant encrypted to the platform public key. WeChat's scheme is
    RSA-OAEP with SHA-1 (not a choice made here)."""
    sha1 = hashes.SHA1()  # noqa: S303, RUF100 - WeChat Pay mandates OAEP with SHA-1
    try:
        plaintext = credentials.wechatpay_private_key.decrypt(
            base64.b64decode(ciphertext),
            padding.OAEP(mgf=padding.MGF1(sha1), algorithm=sha1, label=None),
        )
        return plaintext.decode()
    except ValueError:
        raise param_error(field, "解密失败，请使用微信支付公钥加密") from None


def require_encryption_serial(credentials: Credentials, wechatpay_serial: str | None) -> None:
    """A request carrying encrypted fields names the key it used in `Wechatpay-Serial`."""
    if wechatpay_serial != credentials.wechatpay_public_key_id:
        raise ApiError(400, "PARAM_ERROR", "Wechatpay-Serial 须为加密敏感字段所用的微信支付公钥ID")


@dataclass(frozen=True)
class Notification:
    """A callback as WeChat builds it: built once, signed afresh on every delivery."""

    id: str
    event_type: str
    body: bytes
    resource: dict


def build_notification(
    credentials: Credentials, event_type: str, summary: str, original_type: str, resource: dict
) -> Notification:
    nonce = ids.token(12)
    plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
    ciphertext = AESGCM(credentials.apiv3_key.encode()).encrypt(
        nonce.encode(), plaintext, original_type.encode()
    )
    notification_id = ids.notification_id()
    envelope = {
        "id": notification_id,
        "create_time": rfc3339(now()),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary,
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(ciphertext).decode(),
            "associated_data": original_type,
            "nonce": nonce,
        },
    }
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
    return Notification(notification_id, event_type, body, resource)
