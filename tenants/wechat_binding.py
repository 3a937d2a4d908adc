"""Binding a mall to its WeChat Pay sub-merchant account, verified with a real API call."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from tenants import wechatpay_gateway
from tenants.models import BindingStatus, Merchant, WeChatBinding
from tenants.secrets import secret_encrypt

_SUB_MCHID = re.compile(r"^\d{8,12}$")
_APPID = re.compile(r"^wx[0-9a-f]{16}$")


class BindingInvalid(InvalidInput):
    code = "binding_invalid"


class BindingTaken(Conflict):
    code = "binding_taken"
    default_message = "This sub-merchant number is bound to another mall."


class BindingVerificationFailed(InvalidInput):
    code = "binding_verification_failed"
    status = 422


def _validate(*, sub_mchid: str, sub_appid: str, miniprogram_appid: str, app_secret: str | None):
    errors: dict[str, list[str]] = {}
    if not _SUB_MCHID.match(sub_mchid):
        errors["sub_mchid"] = ["A sub-merchant number is 8 to 12 digits."]
    for field, value in (("sub_appid", sub_appid), ("miniprogram_appid", miniprogram_appid)):
        if value and not _APPID.match(value):
            errors[field] = ["An app id looks like wx followed by 16 hex characters."]
    if not (sub_appid or miniprogram_appid):
        errors["sub_appid"] = ["Give the official account or the mini-program app id."]
    if app_secret is not None and app_secret and not re.fullmatch(r"[0-9a-f]{32}", app_secret):
        errors["app_secret"] = ["An app secret is 32 hex characters."]
    if errors:
        raise BindingInvalid(fields=errors)


def binding_save(
    *, merchant: Merchant, sub_mchid: str, sub_appid: str = "", miniprogram_appid: str = "",
    app_secret: str | None = None,
) -> WeChatBinding:
    """Save and verify. `app_secret=None` keeps the stored secret; a value replaces it.

    Verification asks WeChat for the sub-merchant's profit-sharing configuration, which only
    succeeds when the sub-merchant belongs to the platform's service-provider account.
    """
    sub_mchid, sub_appid, miniprogram_appid = (
        sub_mchid.strip(), sub_appid.strip(), miniprogram_appid.strip()
    )
    _validate(
        sub_mchid=sub_mchid, sub_appid=sub_appid, miniprogram_appid=miniprogram_appid,
        app_secret=app_secret,
    )
    try:
        config = wechatpay_gateway.parse(
            *wechatpay_gateway.client().profitsharing_config_query(sub_mchid=sub_mchid)
        )
    except wechatpay_gateway.WeChatPayError as exc:
        # Nothing is saved: a typo must not break the payments of a mall already live.
        raise BindingVerificationFailed(
            f"WeChat did not confirm this sub-merchant: {exc.message}",
            fields={"sub_mchid": [exc.message]},
        ) from exc
    try:
        with transaction.atomic():
            binding, _ = WeChatBinding.objects.select_for_update().get_or_create(
                merchant=merchant, defaults={"sub_mchid": sub_mchid}
            )
            binding.sub_mchid = sub_mchid
            binding.sub_appid = sub_appid
            binding.miniprogram_appid = miniprogram_appid
            if app_secret:
                binding.app_secret_encrypted = secret_encrypt(app_secret)
            binding.status = BindingStatus.VERIFIED
            binding.profit_sharing_max_ratio_bp = config.get("max_ratio")
            binding.verified_at = timezone.now()
            binding.last_error = ""
            binding.save()
    except IntegrityError as exc:
        raise BindingTaken(fields={"sub_mchid": [BindingTaken.default_message]}) from exc
    return binding


def binding_for_schema(schema_name: str) -> WeChatBinding | None:
    return (
        WeChatBinding.objects.select_related("merchant")
        .filter(merchant__schema_name=schema_name, status=BindingStatus.VERIFIED)
        .first()
    )
