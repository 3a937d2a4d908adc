"""The platform's WeChat Pay API v3 client, in service-provider (partner) mode.

One set of credentials, the platform's own, read from the environment or secret files;
each merchant is only a `sub_mchid` on the requests. Production talks to
api.mch.weixin.qq.com; development and tests point WECHATPAY_GATEWAY at the simulator.
Public-key mode (WECHATPAY_PUBLIC_KEY + _ID) verifies responses and callbacks offline.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from urllib.parse import quote

from django.conf import settings
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.type import RequestType

from core.errors import DomainError

logger = logging.getLogger(__name__)


class WeChatPayUnavailable(DomainError):
    code = "wechatpay_unavailable"
    status = 503
    default_message = "WeChat Pay is not configured on this platform."


class WeChatPayError(DomainError):
    """WeChat answered with an error; `wechat_code` is its code (e.g. PARAM_ERROR)."""

    code = "wechatpay_error"
    status = 502

    def __init__(self, message: str, *, wechat_code: str = "", http_status: int = 0):
        super().__init__(message)
        self.wechat_code = wechat_code
        self.http_status = http_status


def is_configured() -> bool:
    return bool(settings.WECHATPAY_SP_MCHID and settings.WECHATPAY_PRIVATE_KEY)


@lru_cache(maxsize=4)
def client(pay_type: int = WeChatPayType.JSAPI) -> WeChatPay:
    if not is_configured():
        raise WeChatPayUnavailable()
    wechatpay = WeChatPay(
        wechatpay_type=pay_type,
        mchid=settings.WECHATPAY_SP_MCHID,
        private_key=settings.WECHATPAY_PRIVATE_KEY,
        cert_serial_no=settings.WECHATPAY_CERT_SERIAL_NO,
        appid=settings.WECHATPAY_SP_APPID,
        apiv3_key=settings.WECHATPAY_APIV3_KEY,
        partner_mode=True,
        public_key=settings.WECHATPAY_PUBLIC_KEY,
        public_key_id=settings.WECHATPAY_PUBLIC_KEY_ID,
        timeout=(3, settings.WECHATPAY_TIMEOUT_SECONDS),
        logger=logger,
    )
    wechatpay._core._gate_way = settings.WECHATPAY_GATEWAY.rstrip("/")
    return wechatpay


def parse(code: int, message: str, *, accept: tuple[int, ...] = (200, 204)) -> dict:
    """wechatpayv3 answers (HTTP status, body text); turn errors into WeChatPayError."""
    try:
        body = json.loads(message) if message else {}
    except ValueError:
        body = {"message": message}
    if code not in accept:
        raise WeChatPayError(
            f"WeChat Pay refused the request: {body.get('message') or code}",
            wechat_code=body.get("code", ""), http_status=code,
        )
    return body


# Calls wechatpayv3 2.0.4 does not wrap. The library's private core is reached here and
# nowhere else, so an upgrade that renames it breaks one module.

TRANSFER_BILLS_PATH = "/v3/fund-app/mch-transfer/partner/transfer-bills"


def encrypt_sensitive(text: str) -> str:
    """RSA-OAEP under WeChat Pay's public key, for fields only WeChat may read (a payee's
    real name); a request carrying one must be sent with `cipher_data=True`."""
    return client()._core.encrypt(text)


def transfer_bill_create(body: dict, *, carries_cipher: bool) -> tuple[int, str]:
    """Partner transfer to a user's balance (商家转账, `POST …/transfer-bills`)."""
    return client()._core.request(
        TRANSFER_BILLS_PATH, method=RequestType.POST, data=body, cipher_data=carries_cipher
    )


def transfer_bill_query(*, out_bill_no: str, sub_mchid: str) -> tuple[int, str]:
    return client()._core.request(
        f"{TRANSFER_BILLS_PATH}/out-bill-no/{quote(out_bill_no)}?sub_mchid={quote(sub_mchid)}"
    )


def transfer_bill_cancel(*, out_bill_no: str, sub_mchid: str) -> tuple[int, str]:
    return client()._core.request(
        f"{TRANSFER_BILLS_PATH}/out-bill-no/{quote(out_bill_no)}/cancel",
        method=RequestType.POST, data={"sub_mchid": sub_mchid},
    )
