"""Paying commission out: profit sharing (分账) and transfers to WeChat balance (商家转账).

Both are WeChat operations that start and are finished later, like refunds: a row is written
first under its own idempotency key (`out_order_no`, `out_return_no`, `out_bill_no`, each
backed by a unique constraint) together with the exact request body, then the request is
sent. A retry sends the same body again, which WeChat treats as the same operation. The
state only ever moves on what WeChat answers (the call's answer, a callback or a query):
nothing is marked paid here on our own authority.

States of a row: CREATED (sent, no answer yet: re-sent by the query task), then WeChat's
states. REFUSED means WeChat answered 400/403 while the row was still CREATED: no order or
bill exists at WeChat and no money moved; the key is spent (use a new one).

Profit sharing needs the payment to have been made with `settle_info.profit_sharing=true`
(the payment's `profit_sharing` flag); the funds stay frozen until shared or unfrozen.
WeChat claws back (回退) only from MERCHANT_ID receivers: a share paid to a person's openid
cannot be returned through WeChat, so a refund after payout is netted against the
distributor's later earnings instead (DESIGN §6).
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Sequence

import requests
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from wechatpayv3.type import RequestType

from core.errors import Conflict, DomainError, InvalidInput
from storefront.payments import services
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
    Transfer,
    TransferStatus,
)
from tenants import wechatpay_gateway
from tenants.models import WeChatBinding
from tenants.wechat_binding import binding_for_schema

logger = logging.getLogger(__name__)

MAX_RECEIVERS = 50  # WeChat's limit per profit-sharing request
REAL_NAME_FROM_FEN = 200_000  # ¥2,000: WeChat requires the payee's real name from here
MIN_TRANSFER_FEN = 10  # ¥0.10, WeChat's lower limit for one transfer
TRANSFERS_PATH = "/v3/fund-app/mch-transfer/partner/transfer-bills"
# 佣金报酬 (commission): the scene a provider applies for in the merchant portal; each scene
# has its own mandatory report lines.
COMMISSION_SCENE_ID = "1005"
COMMISSION_REPORT_INFOS = (
    {"info_type": "岗位类型", "info_content": "商品分销推广员"},
    {"info_type": "报酬说明", "info_content": "商品推广佣金"},
)

_OUT_ORDER_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
_OUT_BILL_NO = re.compile(r"^[0-9A-Za-z]{1,32}$")
_MCHID = re.compile(r"^\d{8,12}$")


# Errors ------------------------------------------------------------------------------------


class PayoutInvalid(InvalidInput):
    code = "payout_invalid"


class RealNameRequired(PayoutInvalid):
    code = "real_name_required"
    default_message = "From ¥2,000 a transfer needs the payee's real name."


class PayoutNotAllowed(Conflict):
    """Refused before anything was sent to WeChat."""

    code = "payout_not_allowed"


class ProfitShareOverCap(PayoutNotAllowed):
    code = "profit_share_over_cap"
    default_message = "The shares exceed the sub-merchant's profit-sharing ratio."


class PayoutKeyReused(Conflict):
    code = "payout_key_reused"
    default_message = "This idempotency key was already used for a different payout."


class PayoutMismatch(DomainError):
    """What WeChat reported does not match our row: never applied."""

    code = "payout_mismatch"
    status = 400


# Talking to WeChat -------------------------------------------------------------------------


def _send(call: Callable[[], tuple[int, str]]) -> dict:
    """Run one wechatpayv3 call and parse it. A transport failure (or an answer whose
    signature does not verify) is a WeChatPayError with http_status 0: the outcome is
    unknown, so the caller keeps the row as it is and the request is sent again later."""
    try:
        code, message = call()
    except requests.RequestException as exc:
        raise _unknown_outcome(f"WeChat Pay did not answer: {exc.__class__.__name__}") from exc
    except Exception as exc:
        # wechatpayv3 raises bare Exceptions when an answer's signature does not verify
        # ("failed to verify the signature", "does not support this algorithm"); anything
        # else is a bug of ours and must surface as such.
        if "verify" not in str(exc) and "algorithm" not in str(exc):
            raise
        raise _unknown_outcome(f"WeChat Pay's answer was not accepted: {exc}") from exc
    return wechatpay_gateway.parse(code, message)


def _unknown_outcome(message: str) -> wechatpay_gateway.WeChatPayError:
    return wechatpay_gateway.WeChatPayError(message[:300], http_status=0)


def _refused(exc: wechatpay_gateway.WeChatPayError) -> bool:
    """WeChat refused the request itself (bad field, rule broken, not enough funds)."""
    return exc.http_status in (400, 403)


def _binding() -> WeChatBinding:
    binding = binding_for_schema(connection.schema_name)
    if binding is None:
        raise services.PaymentsUnavailable()
    return binding


def _openid_app(binding: WeChatBinding) -> tuple[str, str]:
    """Which app shoppers' openids belong to: the platform's official account (the usual
    case: PERSONAL_OPENID under the provider's appid), or the mall's own when it signs
    shoppers in (PERSONAL_SUB_OPENID under its sub_appid)."""
    if services._uses_sub_app(binding):
        return ReceiverType.PERSONAL_SUB_OPENID, binding.sub_appid
    return ReceiverType.PERSONAL_OPENID, settings.WECHATPAY_SP_APPID


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _check_text(field: str, value: str, *, max_bytes: int) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if not value or _utf8_len(value) > max_bytes:
        raise PayoutInvalid(fields={field: [f"Give 1 to {max_bytes} bytes of text."]})
    return value


def _is_fen(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# Receivers ---------------------------------------------------------------------------------


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
    binding = _binding()
    receiver_type, appid = _openid_app(binding)
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
    if not _MCHID.match(mchid):
        raise PayoutInvalid(fields={"mchid": ["A merchant number is 8 to 12 digits."]})
    name = _check_text("name", name, max_bytes=120)
    binding = _binding()
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
    _send(lambda: wechatpay_gateway.client().profitsharing_add_receiver(
        account_type=receiver_type, account=account, relation_type=relation_type,
        name=name or None, appid=settings.WECHATPAY_SP_APPID, sub_appid=sub_appid,
        sub_mchid=binding.sub_mchid,
    ))
    receiver, _ = ProfitShareReceiver.objects.get_or_create(
        sub_mchid=binding.sub_mchid, receiver_type=receiver_type, account=account,
        defaults={"appid": appid, "relation_type": relation_type},
    )
    return receiver


# Profit sharing ----------------------------------------------------------------------------

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
        if not _is_fen(amount) or amount <= 0:
            raise PayoutInvalid(fields={f"receivers[{index}]": ["An amount is a positive fen."]})
        description = _check_text(f"receivers[{index}]", description, max_bytes=80)
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
    if not _OUT_ORDER_NO.match(out_order_no or ""):
        raise PayoutInvalid(fields={"out_order_no": ["1 to 64 of 0-9 A-Z a-z _ - | * @."]})
    if not isinstance(unfreeze_unsplit, bool):
        raise PayoutInvalid(fields={"unfreeze_unsplit": ["Say true or false."]})
    _check_shareable(payment)
    cleaned = _clean_receivers(receivers)
    total = sum(amount for _, amount, _ in cleaned)
    binding = _binding()
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
        body = _send(lambda: method(**request))
    except wechatpay_gateway.WeChatPayError as exc:
        _share_failed(share, exc)
        raise
    share, _ = _share_apply(share=share, resource=body, source="create")
    return share


def _share_failed(share: ProfitShare, exc: wechatpay_gateway.WeChatPayError) -> None:
    update = {"last_error": exc.message[:300], "updated_at": timezone.now()}
    if _refused(exc):
        # Only a share WeChat never acknowledged can be refused: it does not exist there.
        ProfitShare.objects.filter(pk=share.pk, status=ProfitShareStatus.CREATED).update(
            status=ProfitShareStatus.REFUSED, finished_at=timezone.now(), **update
        )
    ProfitShare.objects.filter(pk=share.pk).exclude(
        status=ProfitShareStatus.REFUSED
    ).update(**update)
    share.refresh_from_db()


def _share_apply(*, share: ProfitShare, resource: dict, source: str) -> tuple[ProfitShare, str]:
    """Apply a profit-sharing order as WeChat reports it (call answer or query)."""
    if resource.get("out_order_no") != share.out_order_no:
        raise PayoutMismatch("The out_order_no does not match this share.")
    if resource.get("sub_mchid") and resource["sub_mchid"] != share.sub_mchid:
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
        share.status = new_status
        share.order_id = resource.get("order_id") or share.order_id
        share.last_error = ""
        fields = ["status", "order_id", "last_error", "updated_at"]
        if new_status == ProfitShareStatus.FINISHED:
            share.finished_at = timezone.now()
            fields.append("finished_at")
        share.save(update_fields=fields)
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
    body = _send(lambda: wechatpay_gateway.client().profitsharing_order_query(
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
    if not _OUT_ORDER_NO.match(out_order_no or ""):
        raise PayoutInvalid(fields={"out_order_no": ["1 to 64 of 0-9 A-Z a-z _ - | * @."]})
    description = _check_text("description", description, max_bytes=80)
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
    if not _OUT_ORDER_NO.match(out_return_no or ""):
        raise PayoutInvalid(fields={"out_return_no": ["1 to 64 of 0-9 A-Z a-z _ - | * @."]})
    if not _is_fen(amount_fen) or amount_fen <= 0:
        raise PayoutInvalid(fields={"amount_fen": ["An amount is a positive fen."]})
    description = _check_text("description", description, max_bytes=80)
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
    except IntegrityError:
        return profit_share_return(
            share=share, out_return_no=out_return_no, amount_fen=amount_fen,
            description=description, return_mchid=return_mchid,
        )
    return _return_send(share_return)


def _return_send(share_return: ProfitShareReturn) -> ProfitShareReturn:
    request = copy.deepcopy(share_return.request)
    try:
        body = _send(lambda: wechatpay_gateway.client().profitsharing_return(**request))
    except wechatpay_gateway.WeChatPayError as exc:
        update = {"last_error": exc.message[:300], "updated_at": timezone.now()}
        if _refused(exc):
            ProfitShareReturn.objects.filter(
                pk=share_return.pk, status=ShareReturnStatus.CREATED
            ).update(status=ShareReturnStatus.REFUSED, finished_at=timezone.now(), **update)
        ProfitShareReturn.objects.filter(pk=share_return.pk).exclude(
            status=ShareReturnStatus.REFUSED
        ).update(**update)
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
    if resource.get("return_mchid") and resource["return_mchid"] != share_return.return_mchid:
        raise PayoutMismatch("The merchant does not match this return.")
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
        share_return.status = new_status
        share_return.return_id = resource.get("return_id") or share_return.return_id
        share_return.fail_reason = (resource.get("fail_reason") or "")[:40]
        share_return.last_error = ""
        fields = ["status", "return_id", "fail_reason", "last_error", "updated_at"]
        if new_status != ShareReturnStatus.PROCESSING:
            share_return.finished_at = timezone.now()
            fields.append("finished_at")
        share_return.save(update_fields=fields)
    return share_return, "applied"


def profit_share_return_query(*, share_return: ProfitShareReturn) -> tuple[ProfitShareReturn, str]:
    if share_return.status == ShareReturnStatus.CREATED:
        before = share_return.status
        share_return = _return_send(share_return)
        return share_return, "applied" if share_return.status != before else "unchanged"
    body = _send(lambda: wechatpay_gateway.client().profitsharing_return_query(
        out_order_no=share_return.request["out_order_no"],
        out_return_no=share_return.out_return_no, sub_mchid=share_return.request["sub_mchid"],
    ))
    return _return_apply(share_return=share_return, resource=body, source="query")


# Transfers to WeChat balance ---------------------------------------------------------------

TRANSFER_FINAL = frozenset({
    TransferStatus.SUCCESS, TransferStatus.FAIL, TransferStatus.CANCELLED,
    TransferStatus.REFUSED,
})
_TRANSFER_RANK = {
    TransferStatus.CREATED: 0,
    TransferStatus.ACCEPTED: 1,
    TransferStatus.PROCESSING: 2,
    TransferStatus.WAIT_USER_CONFIRM: 3,
    TransferStatus.TRANSFERING: 4,
    TransferStatus.CANCELING: 5,
    **dict.fromkeys(TRANSFER_FINAL, 9),
}
_CANCELLABLE = (TransferStatus.ACCEPTED, TransferStatus.WAIT_USER_CONFIRM)

_final_handlers: list[Callable[[Transfer], None]] = []


def transfer_final_handler_register(handler: Callable[[Transfer], None]) -> None:
    """Call `handler(transfer)` when a transfer reaches SUCCESS, FAIL, CANCELLED or REFUSED,
    inside the transaction that records it (e.g. to settle or give back a withdrawal
    atomically). Runs once per transfer. Register from an AppConfig.ready()."""
    if handler not in _final_handlers:
        _final_handlers.append(handler)


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
    if not _OUT_BILL_NO.match(out_bill_no or ""):
        raise PayoutInvalid(fields={"out_bill_no": ["1 to 32 letters or digits."]})
    openid = (openid or "").strip()
    if not openid or len(openid) > 64:
        raise PayoutInvalid(fields={"openid": ["Unknown openid."]})
    if not _is_fen(amount_fen) or amount_fen < MIN_TRANSFER_FEN:
        raise PayoutInvalid(
            fields={"amount_fen": [f"A transfer is at least {MIN_TRANSFER_FEN} fen."]}
        )
    remark = (remark or "").strip()
    if not remark or len(remark) > 32:
        raise PayoutInvalid(fields={"remark": ["Give 1 to 32 characters."]})
    user_name = (user_name or "").strip() or None
    if amount_fen >= REAL_NAME_FROM_FEN and not user_name:
        raise RealNameRequired(fields={"user_name": [RealNameRequired.default_message]})
    binding = _binding()
    _, appid = _openid_app(binding)
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
        body["user_name"] = wechatpay_gateway.client()._core.encrypt(user_name)
    try:
        with transaction.atomic():
            transfer = Transfer.objects.create(
                out_bill_no=out_bill_no, sub_mchid=binding.sub_mchid, appid=appid,
                openid=openid, amount_fen=amount_fen, remark=remark,
                real_name_given=bool(user_name), request=body,
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
        answer = _send(lambda: wechatpay_gateway.client()._core.request(
            TRANSFERS_PATH, method=RequestType.POST, data=body,
            cipher_data=transfer.real_name_given,
        ))
    except wechatpay_gateway.WeChatPayError as exc:
        update = {"last_error": exc.message[:300], "updated_at": timezone.now()}
        if _refused(exc) and transfer.status == TransferStatus.CREATED:
            with transaction.atomic():
                locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
                if locked.status == TransferStatus.CREATED:
                    _transfer_set(locked, TransferStatus.REFUSED, source="create",
                                  last_error=update["last_error"])
        Transfer.objects.filter(pk=transfer.pk).update(**update)
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
    if resource.get("sub_mchid") and resource["sub_mchid"] != transfer.sub_mchid:
        raise PayoutMismatch("The sub-merchant does not match this transfer.")
    if resource.get("openid") and resource["openid"] != transfer.openid:
        raise PayoutMismatch("The payee does not match this transfer.")
    if (transfer.transfer_bill_no and resource.get("transfer_bill_no")
            and resource["transfer_bill_no"] != transfer.transfer_bill_no):
        raise PayoutMismatch("The transfer bill does not match this transfer.")
    return _transfer_advance(transfer=transfer, resource=resource, source=source)


def _transfer_advance(*, transfer: Transfer, resource: dict, source: str) -> tuple[Transfer, str]:
    state = resource.get("state")
    if state not in _TRANSFER_RANK or state in (TransferStatus.CREATED, TransferStatus.REFUSED):
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
        if _TRANSFER_RANK[state] <= _TRANSFER_RANK[transfer.status]:
            return transfer, "unchanged"  # an older state reported late
        _transfer_set(
            transfer, state, source=source,
            transfer_bill_no=resource.get("transfer_bill_no") or transfer.transfer_bill_no,
            package_info=resource.get("package_info") or transfer.package_info,
            fail_reason=(resource.get("fail_reason") or "")[:64],
        )
    return transfer, "applied"


def _transfer_set(transfer: Transfer, state: str, *, source: str, **values) -> None:
    """The one place a transfer's state changes (row locked by the caller)."""
    transfer.status = state
    for name, value in values.items():
        setattr(transfer, name, value)
    fields = ["status", "updated_at", *values]
    if state in TRANSFER_FINAL:
        transfer.finished_at = timezone.now()
        fields.append("finished_at")
    transfer.save(update_fields=fields)
    logger.info("transfer %s → %s (%s)", transfer.out_bill_no, state, source)
    if state in TRANSFER_FINAL:
        for handler in _final_handlers:
            handler(transfer)


def transfer_query(*, transfer: Transfer) -> tuple[Transfer, str]:
    """Ask WeChat for the bill and apply it; a bill never acknowledged is sent again."""
    if transfer.status == TransferStatus.CREATED:
        transfer = _transfer_send(transfer)
        return transfer, "unchanged" if transfer.status == TransferStatus.CREATED else "applied"
    path = f"{TRANSFERS_PATH}/out-bill-no/{transfer.out_bill_no}?sub_mchid={transfer.sub_mchid}"
    body = _send(lambda: wechatpay_gateway.client()._core.request(path))
    return transfer_apply(resource=body, source="query")


def transfer_cancel(*, transfer: Transfer) -> Transfer:
    """Withdraw a transfer the user has not confirmed yet. WeChat answers CANCELING and
    reports CANCELLED later (or SUCCESS, when the user confirmed first)."""
    transfer.refresh_from_db()
    if transfer.status not in _CANCELLABLE:
        raise PayoutNotAllowed("Only a transfer waiting for the user can be cancelled.")
    body = _send(lambda: wechatpay_gateway.client()._core.request(
        f"{TRANSFERS_PATH}/out-bill-no/{transfer.out_bill_no}/cancel",
        method=RequestType.POST, data={"sub_mchid": transfer.sub_mchid},
    ))
    if body.get("out_bill_no") != transfer.out_bill_no:
        raise PayoutMismatch("WeChat answered for another out_bill_no.")
    transfer, _ = _transfer_advance(transfer=transfer, resource=body, source="cancel")
    return transfer


# Selectors for the query jobs --------------------------------------------------------------


def _cutoff(older_than_seconds: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=older_than_seconds)


def profit_shares_awaiting(*, older_than_seconds: int = 60, limit: int = 200):
    return ProfitShare.objects.filter(
        status__in=[ProfitShareStatus.CREATED, ProfitShareStatus.PROCESSING],
        updated_at__lte=_cutoff(older_than_seconds),
    ).order_by("updated_at")[:limit]


def share_returns_awaiting(*, older_than_seconds: int = 60, limit: int = 200):
    return ProfitShareReturn.objects.filter(
        status__in=[ShareReturnStatus.CREATED, ShareReturnStatus.PROCESSING],
        updated_at__lte=_cutoff(older_than_seconds),
    ).order_by("updated_at")[:limit]


def transfers_awaiting(*, older_than_seconds: int = 60, limit: int = 200):
    return Transfer.objects.exclude(status__in=TRANSFER_FINAL).filter(
        updated_at__lte=_cutoff(older_than_seconds)
    ).order_by("updated_at")[:limit]
