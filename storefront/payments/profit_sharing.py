"""Profit sharing (分账) of paid transactions, the unfreeze of what is left, and returns
(回退, claw-backs) of what a share paid a merchant receiver. The request/answer discipline
is in storefront.payments.wire; status changes go through the state machines of
storefront.payments.transitions.

Profit sharing needs the payment to have been made with `settle_info.profit_sharing=true`
(the payment's `profit_sharing` flag); the funds stay frozen until shared or unfrozen.
WeChat claws back (回退) only from MERCHANT_ID receivers: a share paid to a person's openid
cannot be returned through WeChat, so a refund after payout is netted against the
distributor's later earnings instead (DESIGN §6).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from core.actors import Actor
from storefront.payments import wire
from storefront.payments.errors import (
    PayoutInvalid,
    PayoutKeyReused,
    PayoutMismatch,
    PayoutNotAllowed,
    ProfitShareOverCap,
)
from storefront.payments.models import (
    Payment,
    PaymentStatus,
    ProfitShare,
    ProfitShareKind,
    ProfitShareLine,
    ProfitShareReceiver,
    ProfitShareReturn,
    ProfitShareStatus,
    ReceiverType,
    ShareLineResult,
    ShareReturnStatus,
)
from storefront.payments.receivers import receiver_ensure
from storefront.payments.transitions import PROFIT_SHARE_MACHINE, SHARE_RETURN_MACHINE
from tenants import wechatpay_gateway

logger = logging.getLogger(__name__)

MAX_RECEIVERS = 50  # WeChat's limit per profit-sharing request


_SHARE_RANK = {
    ProfitShareStatus.CREATED: 0,
    ProfitShareStatus.PROCESSING: 1,
    ProfitShareStatus.FINISHED: 2,
    ProfitShareStatus.REFUSED: 2,
}
_SHARE_STATES = {"PROCESSING": ProfitShareStatus.PROCESSING, "FINISHED": ProfitShareStatus.FINISHED}


def _check_shareable(payment: Payment) -> None:
    if not payment.profit_sharing:
        raise PayoutNotAllowed("This payment did not ask for profit sharing when it was made.")
    if payment.status != PaymentStatus.SUCCEEDED or not payment.transaction_id:
        raise PayoutNotAllowed("Only a paid transaction can be shared.")


def _unfrozen(payment: Payment) -> bool:
    """An unfreeze (or a share with unfreeze_unsplit) ends sharing on the payment."""
    return (
        ProfitShare.objects.filter(payment=payment)
        .filter(Q(kind=ProfitShareKind.UNFREEZE) | Q(unfreeze_unsplit=True))
        .exclude(status=ProfitShareStatus.REFUSED)
        .exists()
    )


def _shared_fen(payment: Payment) -> int:
    return (
        ProfitShare.objects.filter(payment=payment, kind=ProfitShareKind.SHARE)
        .exclude(status=ProfitShareStatus.REFUSED)
        .aggregate(total=Sum("amount_fen"))["total"]
        or 0
    )


def _check_cap(*, payment: Payment, total_fen: int, max_ratio_bp: int | None) -> None:
    """Integer math only: everything shared on the payment ≤ max_ratio_bp of its amount."""
    if max_ratio_bp is None:
        raise PayoutNotAllowed("The sub-merchant's profit-sharing ratio is not known yet.")
    shared = _shared_fen(payment) + total_fen
    if shared * 10000 > payment.amount_fen * max_ratio_bp:
        raise ProfitShareOverCap(
            f"{shared} fen would exceed {max_ratio_bp / 100:g}% of {payment.amount_fen} fen."
        )


def _clean_receivers(receivers: Sequence) -> list[tuple[str, int, str]]:
    if not receivers:
        raise PayoutInvalid(fields={"receivers": ["Name at least one receiver."]})
    if len(receivers) > MAX_RECEIVERS:
        raise PayoutInvalid(
            fields={"receivers": [f"WeChat takes at most {MAX_RECEIVERS} receivers an order."]}
        )
    cleaned, seen = [], set()
    for index, item in enumerate(receivers):
        try:
            account, amount, description = item
        except (TypeError, ValueError):
            raise PayoutInvalid(
                fields={f"receivers[{index}]": ["Give (openid, amount_fen, description)."]}
            ) from None
        account = account.strip() if isinstance(account, str) else ""
        if not account or len(account) > 64 or account in seen:
            raise PayoutInvalid(fields={f"receivers[{index}]": ["Unknown or repeated account."]})
        if not wire.is_fen(amount) or amount <= 0:
            raise PayoutInvalid(fields={f"receivers[{index}]": ["An amount is a positive fen."]})
        description = wire.check_text(f"receivers[{index}]", description, max_bytes=80)
        seen.add(account)
        cleaned.append((account, amount, description))
    return cleaned


def profit_share_create(
    *,
    payment: Payment,
    out_order_no: str,
    receivers: Sequence[tuple[str, int, str]],
    unfreeze_unsplit: bool,
) -> ProfitShare:
    """Share part of a paid transaction with receivers, each (openid, amount_fen,
    description); an account remembered as a MERCHANT_ID receiver is shared as a merchant.

    Idempotent by `out_order_no`: a retry returns the same row and, while WeChat has not
    finished it, sends the same request again. Refused with nothing sent when the payment
    did not ask for profit sharing or is not paid, the remaining funds were unfrozen, there
    are no or more than 50 receivers, an amount is not positive, or the total shared on the
    payment would exceed the sub-merchant's `max_ratio`. Personal receivers not added yet
    are added first (once each).
    """
    existing = ProfitShare.objects.filter(out_order_no=out_order_no).first()
    if existing is not None:
        return _share_retry(existing, payment=payment, kind=ProfitShareKind.SHARE,
                            receivers=receivers, unfreeze_unsplit=unfreeze_unsplit)
    if not wire.OUT_ORDER_NO.match(out_order_no or ""):
        raise PayoutInvalid(fields={"out_order_no": ["1 to 64 of 0-9 A-Z a-z _ - | * @."]})
    if not isinstance(unfreeze_unsplit, bool):
        raise PayoutInvalid(fields={"unfreeze_unsplit": ["Say true or false."]})
    _check_shareable(payment)
    cleaned = _clean_receivers(receivers)
    total = sum(amount for _, amount, _ in cleaned)
    binding = wire.mall_binding()
    if binding.sub_mchid != payment.sub_mchid:
        raise PayoutNotAllowed("The payment was made to another sub-merchant.")
    if _unfrozen(payment):
        raise PayoutNotAllowed("The rest of this payment was already unfrozen.")
    _check_cap(payment=payment, total_fen=total, max_ratio_bp=binding.profit_sharing_max_ratio_bp)

    merchants = set(
        ProfitShareReceiver.objects.filter(
            sub_mchid=binding.sub_mchid, receiver_type=ReceiverType.MERCHANT_ID,
            account__in=[account for account, _, _ in cleaned],
        ).values_list("account", flat=True)
    )
    lines = []
    for account, amount, description in cleaned:
        if account in merchants:
            receiver_type = ReceiverType.MERCHANT_ID
        else:
            receiver_type = receiver_ensure(openid=account).receiver_type
        lines.append((receiver_type, account, amount, description))
    request = {
        "transaction_id": payment.transaction_id,
        "out_order_no": out_order_no,
        "receivers": [
            {"type": rtype, "account": account, "amount": amount, "description": description}
            for rtype, account, amount, description in lines
        ],
        "unfreeze_unsplit": unfreeze_unsplit,
        "appid": settings.WECHATPAY_SP_APPID,
        "sub_mchid": payment.sub_mchid,
    }
    if any(rtype == ReceiverType.PERSONAL_SUB_OPENID for rtype, *_ in lines):
        request["sub_appid"] = binding.sub_appid
    try:
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            # Again under the payment's lock: concurrent shares of one payment queue here.
            if _unfrozen(locked):
                raise PayoutNotAllowed("The rest of this payment was already unfrozen.")
            _check_cap(payment=locked, total_fen=total,
                       max_ratio_bp=binding.profit_sharing_max_ratio_bp)
            share = ProfitShare.objects.create(
                payment=locked, out_order_no=out_order_no, kind=ProfitShareKind.SHARE,
                sub_mchid=locked.sub_mchid, amount_fen=total,
                unfreeze_unsplit=unfreeze_unsplit, request=request,
            )
            ProfitShareLine.objects.bulk_create(
                ProfitShareLine(share=share, receiver_type=rtype, account=account,
                                amount_fen=amount, description=description)
                for rtype, account, amount, description in lines
            )
            PROFIT_SHARE_MACHINE.record_creation(
                share, actor=Actor.system(), reason=f"share {total} fen",
            )
    except IntegrityError:
        # The same out_order_no was created concurrently: that one is ours too.
        share = ProfitShare.objects.get(out_order_no=out_order_no)
        return _share_retry(share, payment=payment, kind=ProfitShareKind.SHARE,
                            receivers=receivers, unfreeze_unsplit=unfreeze_unsplit)
    return _share_send(share)


def _share_retry(
    share: ProfitShare, *, payment: Payment, kind: str, receivers=None,
    unfreeze_unsplit: bool | None = None,
) -> ProfitShare:
    same = share.payment_id == payment.pk and share.kind == kind
    if same and kind == ProfitShareKind.SHARE:
        wanted = sorted((a, n, d) for a, n, d in _clean_receivers(receivers))
        have = sorted(share.lines.values_list("account", "amount_fen", "description"))
        same = wanted == have and share.unfreeze_unsplit == unfreeze_unsplit
    if not same:
        raise PayoutKeyReused(fields={"out_order_no": [PayoutKeyReused.default_message]})
    if share.status in (ProfitShareStatus.CREATED, ProfitShareStatus.PROCESSING):
        return _share_send(share)
    return share


def _share_send(share: ProfitShare) -> ProfitShare:
    """Send the stored request (again); WeChat answers with the order's current state."""
    request = copy.deepcopy(share.request)
    client = wechatpay_gateway.client()
    method = (
        client.profitsharing_unfreeze if share.kind == ProfitShareKind.UNFREEZE
        else client.profitsharing_order
    )
    try:
        body = wire.send(lambda: method(**request))
    except wechatpay_gateway.WeChatPayError as exc:
        wire.record_send_failure(
            PROFIT_SHARE_MACHINE, share.pk, exc, created=ProfitShareStatus.CREATED,
            refused_status=ProfitShareStatus.REFUSED,
        )
        share.refresh_from_db()
        raise
    share, _ = _share_apply(share=share, resource=body, source="create")
    return share


def _share_apply(*, share: ProfitShare, resource: dict, source: str) -> tuple[ProfitShare, str]:
    """Apply a profit-sharing order as WeChat reports it (call answer or query)."""
    if resource.get("out_order_no") != share.out_order_no:
        raise PayoutMismatch("The out_order_no does not match this share.")
    if resource.get("sub_mchid") != share.sub_mchid:
        raise PayoutMismatch("The sub-merchant does not match this share.")
    if (resource.get("transaction_id")
            and resource["transaction_id"] != share.request.get("transaction_id")):
        raise PayoutMismatch("The transaction does not match this share.")
    new_status = _SHARE_STATES.get(resource.get("state"))
    if new_status is None:
        logger.warning("profit share %s: unknown state %r from %s",
                       share.out_order_no, resource.get("state"), source)
        return share, "unchanged"
    with transaction.atomic():
        share = ProfitShare.objects.select_for_update().get(pk=share.pk)
        if share.status == ProfitShareStatus.REFUSED:
            logger.error("profit share %s was refused but WeChat reports %s (%s)",
                         share.out_order_no, new_status, source)
            return share, "unchanged"
        lines_changed = _share_lines_apply(share, resource.get("receivers") or [])
        if _SHARE_RANK[new_status] <= _SHARE_RANK[share.status]:
            return share, "applied" if lines_changed else "duplicate"
        wechat_order_id = resource.get("order_id") or share.order_id
        share = PROFIT_SHARE_MACHINE.transition(
            pk=share.pk, to_status=new_status, actor=Actor.wechat(),
            reason=f"{resource.get('state')}, reported by {source}", reference=wechat_order_id,
            changes={"order_id": wechat_order_id, "last_error": ""},
        )
    return share, "applied"


def _share_lines_apply(share: ProfitShare, receivers: Iterable[dict]) -> bool:
    changed = False
    lines = {(line.receiver_type, line.account): line for line in share.lines.all()}
    for item in receivers:
        key = (item.get("type"), item.get("account"))
        line = lines.get(key)
        if line is None:
            if share.kind != ProfitShareKind.UNFREEZE:
                raise PayoutMismatch(f"WeChat reports an unknown receiver {key[1]!r}.")
            # The unfreeze's single line (the sub-merchant, the rest) is known from WeChat.
            line = ProfitShareLine(
                share=share, receiver_type=key[0], account=key[1],
                amount_fen=item.get("amount") or 0,
                description=(item.get("description") or "")[:80],
            )
        elif item.get("amount") != line.amount_fen:
            raise PayoutMismatch(f"WeChat reports another amount for {key[1]!r}.")
        result = item.get("result")
        if result not in ShareLineResult.values:
            continue
        if line.pk and line.result == result and line.detail_id == (item.get("detail_id") or ""):
            continue
        line.result = result
        line.detail_id = item.get("detail_id") or line.detail_id
        line.fail_reason = (item.get("fail_reason") or "")[:40]
        if result != ShareLineResult.PENDING:
            line.finished_at = line.finished_at or timezone.now()
        line.save()
        changed = True
    return changed


def profit_share_query(*, share: ProfitShare) -> tuple[ProfitShare, str]:
    """Ask WeChat for the order's state and apply it; a share never acknowledged is sent
    again instead (the same request)."""
    if share.status == ProfitShareStatus.CREATED:
        before = share.status
        share = _share_send(share)
        return share, "applied" if share.status != before else "unchanged"
    body = wire.send(lambda: wechatpay_gateway.client().profitsharing_order_query(
        transaction_id=share.request["transaction_id"], out_order_no=share.out_order_no,
        sub_mchid=share.sub_mchid,
    ))
    return _share_apply(share=share, resource=body, source="query")


def profit_share_unfreeze(*, payment: Payment, out_order_no: str, description: str) -> ProfitShare:
    """Return the funds not shared to the sub-merchant; no sharing is possible afterwards.
    Idempotent by `out_order_no` (the same key space as shares)."""
    existing = ProfitShare.objects.filter(out_order_no=out_order_no).first()
    if existing is not None:
        return _share_retry(existing, payment=payment, kind=ProfitShareKind.UNFREEZE)
    if not wire.OUT_ORDER_NO.match(out_order_no or ""):
        raise PayoutInvalid(fields={"out_order_no": ["1 to 64 of 0-9 A-Z a-z _ - | * @."]})
    description = wire.check_text("description", description, max_bytes=80)
    _check_shareable(payment)
    if _unfrozen(payment):
        raise PayoutNotAllowed("The rest of this payment was already unfrozen.")
    request = {
        "transaction_id": payment.transaction_id, "out_order_no": out_order_no,
        "description": description, "sub_mchid": payment.sub_mchid,
    }
    try:
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            if _unfrozen(locked):
                raise PayoutNotAllowed("The rest of this payment was already unfrozen.")
            share = ProfitShare.objects.create(
                payment=locked, out_order_no=out_order_no, kind=ProfitShareKind.UNFREEZE,
                sub_mchid=locked.sub_mchid, unfreeze_unsplit=True, request=request,
            )
            PROFIT_SHARE_MACHINE.record_creation(
                share, actor=Actor.system(), reason="unfreeze the rest",
            )
    except IntegrityError:
        share = ProfitShare.objects.get(out_order_no=out_order_no)
        return _share_retry(share, payment=payment, kind=ProfitShareKind.UNFREEZE)
    return _share_send(share)


# Returns (claw-backs) ----------------------------------------------------------------------

_RETURN_RANK = {
    ShareReturnStatus.CREATED: 0,
    ShareReturnStatus.PROCESSING: 1,
    ShareReturnStatus.SUCCESS: 2,
    ShareReturnStatus.FAILED: 2,
    ShareReturnStatus.REFUSED: 2,
}
_RETURN_STATES = {
    "PROCESSING": ShareReturnStatus.PROCESSING,
    "SUCCESS": ShareReturnStatus.SUCCESS,
    "FAILED": ShareReturnStatus.FAILED,
}


def profit_share_return(
    *,
    share: ProfitShare,
    out_return_no: str,
    amount_fen: int,
    description: str,
    return_mchid: str | None = None,
) -> ProfitShareReturn:
    """Claw back (part of) what a finished share paid to a MERCHANT_ID receiver
    (`return_mchid`; may be left out when the share has one merchant receiver).
    Idempotent by `out_return_no`; PROCESSING → SUCCESS / FAILED from WeChat."""
    existing = ProfitShareReturn.objects.filter(out_return_no=out_return_no).first()
    if existing is not None:
        same = (existing.share_id == share.pk and existing.amount_fen == amount_fen
                and (return_mchid is None or existing.return_mchid == return_mchid))
        if not same:
            raise PayoutKeyReused(fields={"out_return_no": [PayoutKeyReused.default_message]})
        if existing.status in (ShareReturnStatus.CREATED, ShareReturnStatus.PROCESSING):
            return _return_send(existing)
        return existing
    if not wire.OUT_ORDER_NO.match(out_return_no or ""):
        raise PayoutInvalid(fields={"out_return_no": ["1 to 64 of 0-9 A-Z a-z _ - | * @."]})
    if not wire.is_fen(amount_fen) or amount_fen <= 0:
        raise PayoutInvalid(fields={"amount_fen": ["An amount is a positive fen."]})
    description = wire.check_text("description", description, max_bytes=80)
    if share.kind != ProfitShareKind.SHARE or share.status != ProfitShareStatus.FINISHED:
        raise PayoutNotAllowed("Only a finished share can be returned.")
    merchant_lines = share.lines.filter(receiver_type=ReceiverType.MERCHANT_ID)
    if return_mchid is not None:
        merchant_lines = merchant_lines.filter(account=return_mchid)
    lines = list(merchant_lines)
    if len(lines) != 1:
        raise PayoutNotAllowed(
            "WeChat returns only from a merchant receiver of the share: name which one."
            if len(lines) > 1 else "This share paid no such merchant receiver."
        )
    line = lines[0]
    try:
        with transaction.atomic():
            ProfitShare.objects.select_for_update().get(pk=share.pk)
            returned = (
                ProfitShareReturn.objects.filter(share=share, return_mchid=line.account)
                .exclude(status__in=[ShareReturnStatus.FAILED, ShareReturnStatus.REFUSED])
                .aggregate(total=Sum("amount_fen"))["total"]
                or 0
            )
            if returned + amount_fen > line.amount_fen:
                raise PayoutNotAllowed(
                    f"Only {line.amount_fen - returned} fen are left to return."
                )
            share_return = ProfitShareReturn.objects.create(
                share=share, out_return_no=out_return_no, return_mchid=line.account,
                amount_fen=amount_fen, description=description,
                request={
                    "out_return_no": out_return_no, "return_mchid": line.account,
                    "amount": amount_fen, "description": description,
                    "out_order_no": share.out_order_no, "sub_mchid": share.sub_mchid,
                },
            )
            SHARE_RETURN_MACHINE.record_creation(
                share_return, actor=Actor.system(), reason=f"claw back {amount_fen} fen",
            )
    except IntegrityError:
        return profit_share_return(
            share=share, out_return_no=out_return_no, amount_fen=amount_fen,
            description=description, return_mchid=return_mchid,
        )
    return _return_send(share_return)


def _return_send(share_return: ProfitShareReturn) -> ProfitShareReturn:
    request = copy.deepcopy(share_return.request)
    try:
        body = wire.send(lambda: wechatpay_gateway.client().profitsharing_return(**request))
    except wechatpay_gateway.WeChatPayError as exc:
        wire.record_send_failure(
            SHARE_RETURN_MACHINE, share_return.pk, exc, created=ShareReturnStatus.CREATED,
            refused_status=ShareReturnStatus.REFUSED,
        )
        raise
    share_return, _ = _return_apply(share_return=share_return, resource=body, source="create")
    return share_return


def _return_apply(
    *, share_return: ProfitShareReturn, resource: dict, source: str
) -> tuple[ProfitShareReturn, str]:
    if resource.get("out_return_no") != share_return.out_return_no:
        raise PayoutMismatch("The out_return_no does not match this return.")
    if resource.get("amount") != share_return.amount_fen:
        raise PayoutMismatch("The amount does not match this return.")
    if resource.get("return_mchid") != share_return.return_mchid:
        raise PayoutMismatch("The merchant does not match this return.")
    if resource.get("sub_mchid") != share_return.request.get("sub_mchid"):
        raise PayoutMismatch("The sub-merchant does not match this return.")
    new_status = _RETURN_STATES.get(resource.get("result"))
    if new_status is None:
        return share_return, "unchanged"
    with transaction.atomic():
        share_return = ProfitShareReturn.objects.select_for_update().get(pk=share_return.pk)
        if share_return.status == ShareReturnStatus.REFUSED:
            logger.error("share return %s was refused but WeChat reports %s (%s)",
                         share_return.out_return_no, new_status, source)
            return share_return, "unchanged"
        if _RETURN_RANK[new_status] <= _RETURN_RANK[share_return.status]:
            return share_return, "duplicate"
        return_id = resource.get("return_id") or share_return.return_id
        share_return = SHARE_RETURN_MACHINE.transition(
            pk=share_return.pk, to_status=new_status, actor=Actor.wechat(),
            reason=f"{resource.get('result')}, reported by {source}", reference=return_id,
            changes={"return_id": return_id, "last_error": "",
                     "fail_reason": (resource.get("fail_reason") or "")[:40]},
        )
    return share_return, "applied"


def profit_share_return_query(*, share_return: ProfitShareReturn) -> tuple[ProfitShareReturn, str]:
    if share_return.status == ShareReturnStatus.CREATED:
        before = share_return.status
        share_return = _return_send(share_return)
        return share_return, "applied" if share_return.status != before else "unchanged"
    body = wire.send(lambda: wechatpay_gateway.client().profitsharing_return_query(
        out_order_no=share_return.request["out_order_no"],
        out_return_no=share_return.out_return_no, sub_mchid=share_return.request["sub_mchid"],
    ))
    return _return_apply(share_return=share_return, resource=body, source="query")
