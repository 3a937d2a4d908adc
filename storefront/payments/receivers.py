"""The mall's profit-sharing receivers: WeChat refuses a share to anyone not added to the
sub-merchant's receiver list first, so each account is added once (and remembered)."""

from __future__ import annotations

from django.conf import settings

from storefront.payments import wire
from storefront.payments.errors import PayoutInvalid
from storefront.payments.models import ProfitShareReceiver, ReceiverType
from tenants import wechatpay_gateway
from tenants.models import WeChatBinding


def receiver_ensure(
    *, openid: str, name: str | None = None, relation_type: str = "DISTRIBUTOR"
) -> ProfitShareReceiver:
    """Add a shopper (by openid) to the mall's profit-sharing receivers, once.

    WeChat's add is itself idempotent (adding again updates), so a race between two callers
    only sends the same request twice. `name` (optional for a person) is sent encrypted and
    checked by WeChat against the account's real name; it is not stored.
    """
    openid = (openid or "").strip()
    if not openid or len(openid) > 64:
        raise PayoutInvalid(fields={"openid": ["Unknown openid."]})
    binding = wire.mall_binding()
    receiver_type, appid = wire.openid_app(binding)
    return _receiver_add(
        binding=binding, receiver_type=receiver_type, account=openid, appid=appid,
        relation_type=relation_type, name=name,
    )


def receiver_ensure_merchant(
    *, mchid: str, name: str, relation_type: str = "PARTNER"
) -> ProfitShareReceiver:
    """Add a merchant account (e.g. a supplier's or the platform's own mchid) as receiver.
    WeChat requires the merchant's full registered name, sent encrypted."""
    mchid = (mchid or "").strip()
    if not wire.MCHID.match(mchid):
        raise PayoutInvalid(fields={"mchid": ["A merchant number is 8 to 12 digits."]})
    name = wire.check_text("name", name, max_bytes=120)
    binding = wire.mall_binding()
    return _receiver_add(
        binding=binding, receiver_type=ReceiverType.MERCHANT_ID, account=mchid,
        appid=settings.WECHATPAY_SP_APPID, relation_type=relation_type, name=name,
    )


def _receiver_add(
    *, binding: WeChatBinding, receiver_type: str, account: str, appid: str, relation_type: str,
    name: str | None,
) -> ProfitShareReceiver:
    known = ProfitShareReceiver.objects.filter(
        sub_mchid=binding.sub_mchid, receiver_type=receiver_type, account=account
    ).first()
    if known is not None:
        return known
    sub_appid = binding.sub_appid if receiver_type == ReceiverType.PERSONAL_SUB_OPENID else None
    wire.send(lambda: wechatpay_gateway.client().profitsharing_add_receiver(
        account_type=receiver_type, account=account, relation_type=relation_type,
        name=name or None, appid=settings.WECHATPAY_SP_APPID, sub_appid=sub_appid,
        sub_mchid=binding.sub_mchid,
    ))
    receiver, _ = ProfitShareReceiver.objects.get_or_create(
        sub_mchid=binding.sub_mchid, receiver_type=receiver_type, account=account,
        defaults={"appid": appid, "relation_type": relation_type},
    )
    return receiver
