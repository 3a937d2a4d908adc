"""Verifying WeChat Pay callbacks before anything is believed (DESIGN §7).

Order of checks: not a WECHATPAY/SIGNTEST/ probe; signed by the key we know (serial);
timestamp within ±300 s (wechatpayv3 does not check it); the RSA signature verifies; the
resource decrypts under the APIv3 key (AES-256-GCM). Only then is the JSON trusted.
"""

from __future__ import annotations

import time

from django.conf import settings

from core.errors import DomainError
from storefront.payments.models import NotificationOutcome, WeChatNotification
from tenants import wechatpay_gateway

SIGNTEST_PREFIX = "WECHATPAY/SIGNTEST/"


class CallbackRejected(DomainError):
    code = "callback_rejected"
    status = 401


def _header(request, name: str) -> str:
    return request.headers.get(name, "")


def callback_verify(request) -> dict:
    """Return the callback with `resource` decrypted, or raise CallbackRejected."""
    signature = _header(request, "Wechatpay-Signature")
    if not signature:
        raise CallbackRejected("Missing signature.")
    if signature.startswith(SIGNTEST_PREFIX):
        raise CallbackRejected("Signature test probe refused.")
    serial = _header(request, "Wechatpay-Serial")
    if serial != settings.WECHATPAY_PUBLIC_KEY_ID:
        # Never let the client go fetching certificates for a serial we do not know.
        raise CallbackRejected("Unknown signing key.")
    try:
        timestamp = int(_header(request, "Wechatpay-Timestamp"))
    except ValueError as exc:
        raise CallbackRejected("Bad timestamp.") from exc
    if abs(time.time() - timestamp) > settings.WECHATPAY_CALLBACK_TOLERANCE_SECONDS:
        raise CallbackRejected("Timestamp outside the allowed window.")
    headers = {
        "Wechatpay-Signature": signature,
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": _header(request, "Wechatpay-Nonce"),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": _header(request, "Wechatpay-Signature-Type"),
    }
    body = request.body.decode("utf-8", errors="replace")
    try:
        data = wechatpay_gateway.client().callback(headers=headers, body=body)
    except Exception as exc:  # wechatpayv3 raises bare Exceptions on odd input
        raise CallbackRejected("Callback could not be verified.") from exc
    if not data or not isinstance(data.get("resource"), dict):
        raise CallbackRejected("Signature or encryption did not verify.")
    return data



def notification_record(*, data: dict, outcome: str, reason: str = "") -> None:
    """Keep a verified callback once per WeChat notification id (deliveries repeat): what
    it did, or why it was refused — a refused one is shown to staff."""
    if outcome not in NotificationOutcome.values:
        outcome = NotificationOutcome.ALREADY_APPLIED
    WeChatNotification.objects.bulk_create(
        [WeChatNotification(
            notification_id=data.get("id") or "", event_type=data.get("event_type", ""),
            resource=data["resource"], outcome=outcome, reason=reason[:300],
        )],
        ignore_conflicts=True,
    )


def notifications_refused(*, limit: int = 100):
    """Verified callbacks that did not match our records, newest first (for staff)."""
    return WeChatNotification.objects.filter(
        outcome=NotificationOutcome.REFUSED
    ).order_by("-received_at")[:limit]
