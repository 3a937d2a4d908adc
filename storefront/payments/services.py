"""Paying for orders with WeChat Pay (partner mode), and applying what WeChat reports.

`payment_apply_transaction` is the one place a WeChat transaction changes our state; the
callback view and the late-callback query job both call it, and it is idempotent: replays,
duplicates and concurrent deliveries change the order once (the payment row is locked, and
a payment already succeeded is left alone).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from wechatpayv3 import WeChatPayType

from core import outbox
from core.actors import Actor
from storefront.orders import services as order_services
from storefront.orders.errors import IllegalOrderTransition
from storefront.orders.models import Order, OrderStatus
from storefront.payments import wire
from storefront.payments.errors import (
    OrderPaidMeanwhile,
    PaymentMismatch,
    PaymentNotAllowed,
    PaymentsUnavailable,
)
from storefront.payments.models import (
    MismatchKind,
    Payment,
    PaymentChannel,
    PaymentStatus,
    ReconciliationMismatch,
)
from storefront.payments.transitions import PAYMENT_MACHINE
from storefront.shoppers.models import Shopper
from tenants import wechatpay_gateway
from tenants.models import Merchant
from tenants.wechat_binding import binding_for_schema

logger = logging.getLogger(__name__)

_PAY_TYPES = {
    PaymentChannel.JSAPI: WeChatPayType.JSAPI,
    PaymentChannel.MINIPROGRAM: WeChatPayType.MINIPROG,
    PaymentChannel.H5: WeChatPayType.H5,
    PaymentChannel.NATIVE: WeChatPayType.NATIVE,
}


@dataclass(frozen=True)
class PaymentStart:
    payment: Payment
    channel: str
    jsapi_params: dict = field(default_factory=dict)  # for WeixinJSBridge / wx.requestPayment
    h5_url: str = ""
    code_url: str = ""


def channel_for_client(*, user_agent: str, is_mobile: bool) -> str:
    """JSAPI inside WeChat, H5 in other phone browsers, a Native QR code on desktops."""
    if "MicroMessenger" in (user_agent or ""):
        return PaymentChannel.JSAPI
    return PaymentChannel.H5 if is_mobile else PaymentChannel.NATIVE


def notify_url(merchant: Merchant, kind: str = "notify") -> str:
    return f"{merchant.home_url}api/v1/payments/wechat/{kind}/"


def _rfc3339(moment: dt.datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


# Whether a payment asks WeChat to hold its funds for profit sharing (分账). Only the
# distribution engine, a layer above, knows (an order that may carry commission under a plan
# paying per order); it registers its answer from its AppConfig.ready(). Without one, no
# payment is held: held funds stay frozen until shared or unfrozen.
_profit_sharing_policy: Callable[[Order], bool] | None = None


def register_profit_sharing_policy(policy: Callable[[Order], bool]) -> None:
    global _profit_sharing_policy
    _profit_sharing_policy = policy


def _commission_may_be_due(order: Order) -> bool:
    """Profit sharing must be requested at payment time (see above)."""
    return bool(_profit_sharing_policy and _profit_sharing_policy(order))


def _jsapi_params(*, appid: str, prepay_id: str) -> dict:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    package = f"prepay_id={prepay_id}"
    pay_sign = wechatpay_gateway.client().sign([appid, timestamp, nonce, package])
    return {
        "appId": appid, "timeStamp": timestamp, "nonceStr": nonce, "package": package,
        "signType": "RSA", "paySign": pay_sign,
    }


def payment_start(
    *, order: Order, shopper: Shopper, channel: str, client_ip: str = "127.0.0.1"
) -> PaymentStart:
    """Create (or reuse) a WeChat Pay transaction for an unpaid order.

    time_expire equals the order's auto-cancel deadline, so WeChat refuses a payment the
    order could no longer accept.
    """
    if channel not in PaymentChannel.values:
        raise PaymentNotAllowed(f"Unknown payment channel {channel!r}.")
    binding = binding_for_schema(connection.schema_name)
    if binding is None:
        raise PaymentsUnavailable()
    if order.shopper_id != shopper.pk:
        raise PaymentNotAllowed("Unknown order.")
    if order.status != OrderStatus.PENDING_PAYMENT or order.pay_deadline <= timezone.now():
        raise PaymentNotAllowed("This order can no longer be paid.")
    openid = shopper.wechat_openid or ""
    if channel in (PaymentChannel.JSAPI, PaymentChannel.MINIPROGRAM) and not openid:
        raise PaymentNotAllowed("Sign in with WeChat to pay inside WeChat.")

    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        reusable = (
            Payment.objects.filter(
                order=locked, channel=channel, status=PaymentStatus.PENDING,
                expires_at__gt=timezone.now(),
            )
            .exclude(prepay_id="", h5_url="", code_url="")
            .first()
        )
        if reusable is not None:
            return _start_result(reusable, binding)
        attempt = Payment.objects.filter(order=locked).count() + 1
        payment = Payment.objects.create(
            order=locked, out_trade_no=f"{locked.number}{attempt:02d}", channel=channel,
            sub_mchid=binding.sub_mchid, amount_fen=locked.total_fen, payer_openid=openid,
            profit_sharing=_commission_may_be_due(locked), expires_at=locked.pay_deadline,
        )
        PAYMENT_MACHINE.record_creation(
            payment, actor=Actor.shopper(shopper.pk), reason=f"{channel} payment started"
        )

    use_sub_app = wire.uses_sub_app(binding)
    payer = None
    if openid:
        payer = {"sub_openid": openid} if use_sub_app else {"sp_openid": openid}
    code, message = wechatpay_gateway.client(_PAY_TYPES[channel]).pay(
        description=_description(order),
        out_trade_no=payment.out_trade_no,
        amount={"total": payment.amount_fen, "currency": "CNY"},
        payer=payer if channel in (PaymentChannel.JSAPI, PaymentChannel.MINIPROGRAM) else None,
        time_expire=_rfc3339(payment.expires_at),
        attach=connection.schema_name,
        scene_info={"payer_client_ip": client_ip, "h5_info": {"type": "Wap"}}
        if channel == PaymentChannel.H5 else None,
        settle_info={"profit_sharing": True} if payment.profit_sharing else None,
        notify_url=notify_url(binding.merchant),
        sub_mchid=binding.sub_mchid,
        sub_appid=binding.sub_appid if use_sub_app else None,
        pay_type=_PAY_TYPES[channel],
    )
    try:
        body = wechatpay_gateway.parse(code, message)
    except wechatpay_gateway.WeChatPayError as exc:
        PAYMENT_MACHINE.transition(
            pk=payment.pk, to_status=PaymentStatus.FAILED, actor=Actor.wechat(),
            reason=f"order refused: {exc.message}", reference=exc.wechat_code,
            changes={"last_error": exc.message[:300]},
        )
        raise
    payment.prepay_id = body.get("prepay_id", "")
    payment.h5_url = body.get("h5_url", "")
    payment.code_url = body.get("code_url", "")
    payment.save(update_fields=["prepay_id", "h5_url", "code_url", "updated_at"])
    return _start_result(payment, binding)


def h5_url_with_return(*, h5_url: str, return_url: str) -> str:
    """WeChat's H5 cashier sends the shopper back to `redirect_url` after paying or
    cancelling: it is appended to h5_url, urlencoded, as WeChat's H5 docs prescribe. The
    return proves nothing about the payment: only the callback or the query marks it paid."""
    if not h5_url or not return_url:
        return h5_url
    separator = "&" if "?" in h5_url else "?"
    return f"{h5_url}{separator}{urlencode({'redirect_url': return_url})}"


def _description(order: Order) -> str:
    first = order.lines.first()
    title = first.title if first else order.number
    more = order.lines.count() - 1
    text = f"{title} 等{more + 1}件" if more > 0 else title
    return text[:127]


def _start_result(payment: Payment, binding) -> PaymentStart:
    jsapi = {}
    if payment.prepay_id and payment.channel in (PaymentChannel.JSAPI, PaymentChannel.MINIPROGRAM):
        appid = binding.sub_appid if wire.uses_sub_app(binding) else settings.WECHATPAY_SP_APPID
        if payment.channel == PaymentChannel.MINIPROGRAM and binding.miniprogram_appid:
            appid = binding.miniprogram_appid
        jsapi = _jsapi_params(appid=appid, prepay_id=payment.prepay_id)
    return PaymentStart(
        payment=payment, channel=payment.channel, jsapi_params=jsapi,
        h5_url=payment.h5_url, code_url=payment.code_url,
    )


def payment_apply_transaction(*, resource: dict, source: str) -> tuple[Payment, str]:
    """Apply a transaction resource (decrypted callback or query answer).

    Checks that it is ours (out_trade_no known, sub_mchid and amount match) before anything
    changes. Returns the payment and what happened: "applied", "duplicate", "flagged" or
    "unchanged".
    """
    out_trade_no = resource.get("out_trade_no", "")
    payment = Payment.objects.filter(out_trade_no=out_trade_no).first()
    if payment is None:
        raise PaymentMismatch(f"Unknown out_trade_no {out_trade_no!r}.")
    if resource.get("sub_mchid") != payment.sub_mchid:
        raise PaymentMismatch("The sub-merchant does not match this payment.")
    amount = resource.get("amount") or {}
    if amount.get("total") != payment.amount_fen:
        raise PaymentMismatch("The amount does not match this payment.")

    state = resource.get("trade_state")
    transaction_id = resource.get("transaction_id") or ""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if state == "SUCCESS":
            if payment.status == PaymentStatus.SUCCEEDED:
                return payment, "duplicate"
            order = Order.objects.select_for_update().get(pk=payment.order_id)
            applies = order.status == OrderStatus.PENDING_PAYMENT
            success_time = parse_datetime(resource.get("success_time") or "")
            payment = PAYMENT_MACHINE.transition(
                pk=payment.pk, to_status=PaymentStatus.SUCCEEDED, actor=Actor.wechat(),
                reason=f"paid, reported by {source}", reference=transaction_id,
                changes={"transaction_id": transaction_id or None,
                         "paid_at": success_time or timezone.now()},
            )
            if not applies:
                # Paid after the order was cancelled, or a second channel also paid: the
                # money is real and not the merchant's. It goes back whole, automatically,
                # and staff see why in the differences list.
                ReconciliationMismatch.objects.get_or_create(
                    kind=MismatchKind.PAID_AFTER_CANCEL, out_trade_no=payment.out_trade_no,
                    bill_date=None,
                    defaults={"details": {"order": order.number, "order_status": order.status,
                                          "amount_fen": payment.amount_fen, "source": source,
                                          "action": "refunded automatically"}},
                )
                outbox.enqueue("storefront.payments.tasks.refund_unapplied_payment",
                               kwargs={"payment_id": payment.pk})
                return payment, "flagged"
            order_services.order_mark_paid(
                order=order, actor=Actor.wechat(), reason=f"wechat pay via {source}",
                reference=transaction_id,
            )
            return payment, "applied"
        failed = {"CLOSED": PaymentStatus.CLOSED, "REVOKED": PaymentStatus.CLOSED,
                  "PAYERROR": PaymentStatus.FAILED}.get(state)
        if failed and payment.status == PaymentStatus.PENDING:
            payment = PAYMENT_MACHINE.transition(
                pk=payment.pk, to_status=failed, actor=Actor.wechat(),
                reason=f"{state}, reported by {source}", reference=transaction_id,
            )
            return payment, "applied"
    return payment, "unchanged"


def _sent_to_wechat(payment: Payment) -> bool:
    return bool(payment.prepay_id or payment.h5_url or payment.code_url)


def payment_close(*, payment: Payment, reason: str) -> tuple[Payment, str]:
    """Close a pending payment at WeChat so it can no longer be paid, and record it.

    WeChat is asked first: a payment made meanwhile is applied instead ("paid"); one
    already closed or failed there is recorded as such. Closing an order WeChat just saw
    paid is refused by WeChat (ORDERPAID): it is asked again and the payment applied.
    Returns the payment and "paid", "closed" or "unchanged" (not pending any more).
    """
    if payment.status != PaymentStatus.PENDING:
        return payment, "unchanged"
    if _sent_to_wechat(payment):
        payment, outcome = payment_query(payment=payment)
        if payment.status == PaymentStatus.SUCCEEDED:
            return payment, "paid"
        if payment.status != PaymentStatus.PENDING:
            return payment, "closed"
        try:
            wire.send(lambda: wechatpay_gateway.client().close(
                out_trade_no=payment.out_trade_no, sub_mchid=payment.sub_mchid
            ))
        except wechatpay_gateway.WeChatPayError as exc:
            if exc.wechat_code != "ORDERPAID":
                raise
            payment, _ = payment_query(payment=payment)
            return payment, "paid"
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status != PaymentStatus.PENDING:
            return locked, "unchanged"
        payment = PAYMENT_MACHINE.transition(
            pk=payment.pk, to_status=PaymentStatus.CLOSED, actor=Actor.system(),
            reason=f"closed: {reason}"[:200], reference=payment.out_trade_no,
        )
    return payment, "closed"


def order_cancel_unpaid(*, order: Order, actor: Actor, reason: str) -> Order:
    """Cancel an unpaid order, its WeChat transactions closed first, so that no shopper can
    pay for an order that no longer exists. If WeChat reports one of them paid meanwhile,
    the payment is applied instead and the cancellation refused (409)."""
    for payment in order.payments.filter(status=PaymentStatus.PENDING):
        _, outcome = payment_close(payment=payment, reason=reason)
        if outcome == "paid":
            raise OrderPaidMeanwhile()
    return order_services.order_cancel(order=order, actor=actor, reason=reason)


def order_cancel_if_overdue(*, order_id: int) -> bool:
    """The unpaid-order timer's body (and the per-minute sweep's): safe to run any number of
    times, early or late."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None or order.status != OrderStatus.PENDING_PAYMENT:
        return False
    if order.pay_deadline > timezone.now():
        return False
    try:
        order_cancel_unpaid(order=order, actor=Actor.system(), reason="not paid in time")
    except (OrderPaidMeanwhile, IllegalOrderTransition):
        return False  # paid, or cancelled by someone else meanwhile
    return True


def payment_query(*, payment: Payment) -> tuple[Payment, str]:
    """Ask WeChat for the transaction's state and apply it (late or lost callbacks)."""
    resource = wire.send(lambda: wechatpay_gateway.client().query(
        out_trade_no=payment.out_trade_no, sub_mchid=payment.sub_mchid
    ))
    return payment_apply_transaction(resource=resource, source="query")
