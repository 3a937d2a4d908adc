"""Talking to WeChat Pay for payouts, and the field rules of its wire format.

Payouts (profit sharing, claw-backs, transfers) are WeChat operations that start now and
finish later: a row is written first under its own idempotency key (`out_order_no`,
`out_return_no`, `out_bill_no`, each backed by a unique constraint) with the exact request
body, then the request is sent. A retry sends the same body again, which WeChat treats as
the same operation. The state only ever moves on what WeChat answers (the call's answer, a
callback or a query): nothing is marked paid on our own authority.

States of a row: CREATED (sent, no answer yet: re-sent by the query task), then WeChat's.
REFUSED means WeChat answered 400/403 while the row was still CREATED: no order or bill
exists at WeChat and no money moved; the key is spent (use a new one).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import requests
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.actors import Actor
from core.state_machine import StateMachine
from storefront.payments.errors import PaymentsUnavailable, PayoutInvalid
from storefront.payments.models import ReceiverType
from tenants import wechatpay_gateway
from tenants.models import WeChatBinding
from tenants.wechat_binding import binding_for_schema

OUT_ORDER_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")  # profit shares and returns
OUT_BILL_NO = re.compile(r"^[0-9A-Za-z]{1,32}$")  # transfers
MCHID = re.compile(r"^\d{8,12}$")


def send(call: Callable[[], tuple[int, str]]) -> dict:
    """Run one gateway call and parse it. A transport failure (or an answer whose
    signature does not verify) is a WeChatPayError with http_status 0: the outcome is
    unknown, so the caller keeps the row as it is and the request is sent again later."""
    try:
        code, message = call()
    except requests.RequestException as exc:
        raise unknown_outcome(f"WeChat Pay did not answer: {exc.__class__.__name__}") from exc
    except Exception as exc:
        # wechatpayv3 raises bare Exceptions when an answer's signature does not verify
        # ("failed to verify the signature", "does not support this algorithm"); anything
        # else is a bug of ours and must surface as such.
        if "verify" not in str(exc) and "algorithm" not in str(exc):
            raise
        raise unknown_outcome(f"WeChat Pay's answer was not accepted: {exc}") from exc
    return wechatpay_gateway.parse(code, message)


def unknown_outcome(message: str) -> wechatpay_gateway.WeChatPayError:
    return wechatpay_gateway.WeChatPayError(message[:300], http_status=0)


def refused(exc: wechatpay_gateway.WeChatPayError) -> bool:
    """WeChat refused the request itself (bad field, rule broken, not enough funds)."""
    return exc.http_status in (400, 403)


def record_send_failure(
    machine: StateMachine, pk: int, exc: wechatpay_gateway.WeChatPayError, *,
    created: str, refused_status: str,
) -> None:
    """A request for row `pk` failed. If WeChat refused it while the row was still
    `created` (never acknowledged, so nothing exists at WeChat) the row becomes
    `refused_status` and its key is spent; otherwise only the error is noted and the row is
    sent again later."""
    last_error = exc.message[:300]
    with transaction.atomic():
        status = machine.model.objects.select_for_update().values_list(
            "status", flat=True
        ).get(pk=pk)
        if refused(exc) and status == created:
            machine.transition(
                pk=pk, to_status=refused_status, actor=Actor.wechat(),
                reason=f"refused: {last_error}", reference=exc.wechat_code,
                changes={"last_error": last_error},
            )
        elif status != refused_status:
            update = {"last_error": last_error}
            if any(field.name == "updated_at" for field in machine.model._meta.fields):
                update["updated_at"] = timezone.now()
            machine.model.objects.filter(pk=pk).update(**update)


def mall_binding() -> WeChatBinding:
    """The current mall's sub-merchant binding, or 503 when it has none."""
    binding = binding_for_schema(connection.schema_name)
    if binding is None:
        raise PaymentsUnavailable()
    return binding


def uses_sub_app(binding: WeChatBinding) -> bool:
    """Shoppers' openids belong to the app that signed them in: the mall's own official
    account (then they pay as sub_openid with sub_appid) or the platform's (sp_openid)."""
    return bool(binding.sub_appid) and binding.sub_appid == settings.WECHAT_OAUTH_APP_ID


def openid_app(binding: WeChatBinding) -> tuple[str, str]:
    """Which app shoppers' openids belong to, as a receiver type and its appid: the
    platform's official account (the usual case: PERSONAL_OPENID under the provider's
    appid), or the mall's own (PERSONAL_SUB_OPENID under its sub_appid)."""
    if uses_sub_app(binding):
        return ReceiverType.PERSONAL_SUB_OPENID, binding.sub_appid
    return ReceiverType.PERSONAL_OPENID, settings.WECHATPAY_SP_APPID


def check_text(field: str, value: str, *, max_bytes: int) -> str:
    """WeChat counts text fields in UTF-8 bytes."""
    value = value.strip() if isinstance(value, str) else ""
    if not value or len(value.encode("utf-8")) > max_bytes:
        raise PayoutInvalid(fields={field: [f"Give 1 to {max_bytes} bytes of text."]})
    return value


def is_fen(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
