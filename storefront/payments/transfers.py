"""Transfers from the mall's sub-merchant to a user's WeChat balance (商家转账), e.g. a
distributor's withdrawal. The request discipline is in storefront.payments.wire; every
state change goes through TRANSFER_MACHINE, whose `transfer.<state>` events replace the
old handler table: a withdrawal that must settle or give money back when its transfer ends
subscribes to `transfer.success`, `transfer.fail`, `transfer.cancelled`, `transfer.refused`
(each published once, inside the transaction that records it)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence

from django.db import IntegrityError, transaction

from core.actors import Actor
from storefront.payments import services, wire
from storefront.payments.errors import (
    PayoutInvalid,
    PayoutKeyReused,
    PayoutMismatch,
    PayoutNotAllowed,
    RealNameRequired,
)
from storefront.payments.models import Transfer, TransferStatus
from storefront.payments.transitions import TRANSFER_FINAL, TRANSFER_MACHINE, TRANSFER_RANK
from tenants import wechatpay_gateway

logger = logging.getLogger(__name__)

REAL_NAME_FROM_FEN = 200_000  # ¥2,000: WeChat requires the payee's real name from here
MIN_TRANSFER_FEN = 10  # ¥0.10, WeChat's lower limit for one transfer
# 佣金报酬 (commission): the scene a provider applies for in the merchant portal; each scene
# has its own mandatory report lines.
COMMISSION_SCENE_ID = "1005"
COMMISSION_REPORT_INFOS = (
    {"info_type": "岗位类型", "info_content": "商品分销推广员"},
    {"info_type": "报酬说明", "info_content": "商品推广佣金"},
)
_CANCELLABLE = (TransferStatus.ACCEPTED, TransferStatus.WAIT_USER_CONFIRM)


def transfer_create(
    *,
    out_bill_no: str,
    openid: str,
    amount_fen: int,
    remark: str,
    user_name: str | None = None,
    transfer_scene_id: str = COMMISSION_SCENE_ID,
    scene_report_infos: Sequence[dict] = COMMISSION_REPORT_INFOS,
) -> Transfer:
    """Ask WeChat to transfer `amount_fen` from the mall's sub-merchant to a user's balance.

    WeChat answers WAIT_USER_CONFIRM with `package_info`, which the shopper's page hands to
    wx.requestMerchantTransfer; the final state (SUCCESS, FAIL, CANCELLED) arrives by the
    MCHTRANSFER.BILL.FINISHED callback or the query job. From ¥2,000 the user's real name
    is required; it is sent encrypted to WeChat's public key and kept only as that
    ciphertext. Idempotent by `out_bill_no`: a retry returns the same row and, while WeChat
    has not acknowledged it, sends the same body again.
    """
    existing = Transfer.objects.filter(out_bill_no=out_bill_no).first()
    if existing is not None:
        return _transfer_retry(existing, openid=openid, amount_fen=amount_fen, remark=remark)
    if not wire.OUT_BILL_NO.match(out_bill_no or ""):
        raise PayoutInvalid(fields={"out_bill_no": ["1 to 32 letters or digits."]})
    openid = (openid or "").strip()
    if not openid or len(openid) > 64:
        raise PayoutInvalid(fields={"openid": ["Unknown openid."]})
    if not wire.is_fen(amount_fen) or amount_fen < MIN_TRANSFER_FEN:
        raise PayoutInvalid(
            fields={"amount_fen": [f"A transfer is at least {MIN_TRANSFER_FEN} fen."]}
        )
    remark = (remark or "").strip()
    if not remark or len(remark) > 32:
        raise PayoutInvalid(fields={"remark": ["Give 1 to 32 characters."]})
    user_name = (user_name or "").strip() or None
    if amount_fen >= REAL_NAME_FROM_FEN and not user_name:
        raise RealNameRequired(fields={"user_name": [RealNameRequired.default_message]})
    binding = wire.mall_binding()
    _, appid = wire.openid_app(binding)
    body = {
        "sub_mchid": binding.sub_mchid,
        "appid": appid,
        "out_bill_no": out_bill_no,
        "transfer_scene_id": transfer_scene_id,
        "openid": openid,
        "transfer_amount": amount_fen,
        "transfer_remark": remark,
        "notify_url": services.notify_url(binding.merchant, "transfer-notify"),
        "transfer_scene_report_infos": [dict(info) for info in scene_report_infos],
    }
    if user_name:
        body["user_name"] = wechatpay_gateway.encrypt_sensitive(user_name)
    try:
        with transaction.atomic():
            transfer = Transfer.objects.create(
                out_bill_no=out_bill_no, sub_mchid=binding.sub_mchid, appid=appid,
                openid=openid, amount_fen=amount_fen, remark=remark,
                real_name_given=bool(user_name), request=body,
            )
            TRANSFER_MACHINE.record_creation(
                transfer, actor=Actor.system(), reason=f"transfer {amount_fen} fen: {remark}"
            )
    except IntegrityError:
        transfer = Transfer.objects.get(out_bill_no=out_bill_no)
        return _transfer_retry(transfer, openid=openid, amount_fen=amount_fen, remark=remark)
    return _transfer_send(transfer)


def _transfer_retry(transfer: Transfer, *, openid: str, amount_fen: int, remark: str) -> Transfer:
    same = (transfer.openid == (openid or "").strip() and transfer.amount_fen == amount_fen
            and transfer.remark == (remark or "").strip())
    if not same:
        raise PayoutKeyReused(fields={"out_bill_no": [PayoutKeyReused.default_message]})
    if transfer.status == TransferStatus.CREATED:
        return _transfer_send(transfer)
    return transfer


def _transfer_send(transfer: Transfer) -> Transfer:
    """Send the stored body (again), byte for byte: the encrypted name included."""
    body = copy.deepcopy(transfer.request)
    try:
        answer = wire.send(lambda: wechatpay_gateway.transfer_bill_create(
            body, carries_cipher=transfer.real_name_given
        ))
    except wechatpay_gateway.WeChatPayError as exc:
        wire.record_send_failure(
            TRANSFER_MACHINE, transfer.pk, exc, created=TransferStatus.CREATED,
            refused_status=TransferStatus.REFUSED,
        )
        raise
    if answer.get("out_bill_no") != transfer.out_bill_no:
        raise PayoutMismatch("WeChat answered for another out_bill_no.")
    transfer, _ = _transfer_advance(transfer=transfer, resource=answer, source="create")
    return transfer


def transfer_apply(*, resource: dict, source: str) -> tuple[Transfer, str]:
    """Apply a transfer bill as WeChat reports it (MCHTRANSFER.BILL.FINISHED callback or a
    query). Checks it is ours first (out_bill_no known, amount, sub-merchant and openid
    match); idempotent: replays and duplicates change nothing."""
    out_bill_no = resource.get("out_bill_no", "")
    transfer = Transfer.objects.filter(out_bill_no=out_bill_no).first()
    if transfer is None:
        raise PayoutMismatch(f"Unknown out_bill_no {out_bill_no!r}.")
    if resource.get("transfer_amount") != transfer.amount_fen:
        raise PayoutMismatch("The amount does not match this transfer.")
    if resource.get("sub_mchid") != transfer.sub_mchid:
        raise PayoutMismatch("The sub-merchant does not match this transfer.")
    if resource.get("openid") != transfer.openid:
        raise PayoutMismatch("The payee does not match this transfer.")
    if (transfer.transfer_bill_no and resource.get("transfer_bill_no")
            and resource["transfer_bill_no"] != transfer.transfer_bill_no):
        raise PayoutMismatch("The transfer bill does not match this transfer.")
    return _transfer_advance(transfer=transfer, resource=resource, source=source)


def _transfer_advance(*, transfer: Transfer, resource: dict, source: str) -> tuple[Transfer, str]:
    state = resource.get("state")
    if state not in TRANSFER_RANK or state in (TransferStatus.CREATED, TransferStatus.REFUSED):
        logger.warning("transfer %s: unknown state %r from %s", transfer.out_bill_no, state,
                       source)
        return transfer, "unchanged"
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer.pk)
        if transfer.status == state:
            return transfer, "duplicate"
        if transfer.status in TRANSFER_FINAL:
            logger.error("transfer %s is %s but WeChat now reports %s (%s)",
                         transfer.out_bill_no, transfer.status, state, source)
            return transfer, "unchanged"
        if not TRANSFER_MACHINE.can_move(transfer.status, state):
            return transfer, "unchanged"  # an older state reported late
        bill_no = resource.get("transfer_bill_no") or transfer.transfer_bill_no
        transfer = TRANSFER_MACHINE.transition(
            pk=transfer.pk, to_status=state, actor=Actor.wechat(),
            reason=f"{state}, reported by {source}", reference=bill_no,
            changes={
                "transfer_bill_no": bill_no,
                "package_info": resource.get("package_info") or transfer.package_info,
                "fail_reason": (resource.get("fail_reason") or "")[:64],
            },
        )
    logger.info("transfer %s → %s (%s)", transfer.out_bill_no, state, source)
    return transfer, "applied"


def transfer_query(*, transfer: Transfer) -> tuple[Transfer, str]:
    """Ask WeChat for the bill and apply it; a bill never acknowledged is sent again."""
    if transfer.status == TransferStatus.CREATED:
        transfer = _transfer_send(transfer)
        return transfer, "unchanged" if transfer.status == TransferStatus.CREATED else "applied"
    body = wire.send(lambda: wechatpay_gateway.transfer_bill_query(
        out_bill_no=transfer.out_bill_no, sub_mchid=transfer.sub_mchid
    ))
    return transfer_apply(resource=body, source="query")


def transfer_cancel(*, transfer: Transfer) -> Transfer:
    """Withdraw a transfer the user has not confirmed yet. WeChat answers CANCELING and
    reports CANCELLED later (or SUCCESS, when the user confirmed first)."""
    transfer.refresh_from_db()
    if transfer.status not in _CANCELLABLE:
        raise PayoutNotAllowed("Only a transfer waiting for the user can be cancelled.")
    body = wire.send(lambda: wechatpay_gateway.transfer_bill_cancel(
        out_bill_no=transfer.out_bill_no, sub_mchid=transfer.sub_mchid
    ))
    if body.get("out_bill_no") != transfer.out_bill_no:
        raise PayoutMismatch("WeChat answered for another out_bill_no.")
    transfer, _ = _transfer_advance(transfer=transfer, resource=body, source="cancel")
    return transfer
