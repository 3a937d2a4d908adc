"""Domestic refunds: accepted as PROCESSING, SUCCESS after `processing_delay`, then the
REFUND.SUCCESS callback when the merchant gave a notify_url."""

from __future__ import annotations

import re

from . import ids
from .callbacks import CallbackDispatcher
from .clock import now, rfc3339
from .config import SimulatorConfig
from .errors import ApiError, invalid_request, not_found, param_error
from .pay import PAID_STATES, fingerprint
from .scheduler import Scheduler
from .state import Refund, SimulatorState
from .validation import Fields

OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")


def refund_resource(refund: Refund) -> dict:
    """The refund as the create and query APIs answer it."""
    tx = refund.transaction
    resource = {
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "transaction_id": tx.transaction_id,
        "out_trade_no": tx.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": rfc3339(refund.created_at),
        "status": refund.status,
        "funds_account": "UNSETTLED" if tx.profit_sharing else "AVAILABLE",
        "amount": {
            "total": tx.total,
            "refund": refund.refund,
            "from": [],
            "payer_total": tx.total,
            "payer_refund": refund.refund,
            "settlement_refund": refund.refund,
            "settlement_total": tx.total,
            "discount_refund": 0,
            "currency": tx.currency,
            "refund_fee": 0,
        },
        "promotion_detail": [],
    }
    if refund.success_time:
        resource["success_time"] = rfc3339(refund.success_time)
    return resource


def refund_notification_resource(refund: Refund) -> dict:
    """The refund as the REFUND.SUCCESS callback carries it."""
    tx = refund.transaction
    return {
        "sp_mchid": tx.sp_mchid,
        "sub_mchid": tx.sub_mchid,
        "transaction_id": tx.transaction_id,
        "out_trade_no": tx.out_trade_no,
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "refund_status": refund.status,
        "success_time": rfc3339(refund.success_time),
        "user_received_account": "支付用户零钱",
        "amount": {
            "total": tx.total,
            "refund": refund.refund,
            "payer_total": tx.total,
            "payer_refund": refund.refund,
        },
    }


class RefundService:
    def __init__(
        self,
        config: SimulatorConfig,
        state: SimulatorState,
        scheduler: Scheduler,
        callbacks: CallbackDispatcher,
    ):
        self.config = config
        self.state = state
        self.scheduler = scheduler
        self.callbacks = callbacks

    def create(self, body: dict) -> dict:
        """POST /v3/refund/domestic/refunds, idempotent by out_refund_no."""
        fields = Fields(body)
        sub_mchid = fields.text("sub_mchid")
        transaction_id = fields.text("transaction_id", required=False, max_bytes=32)
        out_trade_no = fields.text("out_trade_no", required=False, max_bytes=32)
        if not (transaction_id or out_trade_no):
            raise param_error("/transaction_id", "transaction_id 与 out_trade_no 须填其一")
        out_refund_no = fields.text("out_refund_no", pattern=OUT_REFUND_NO)
        fields.text("reason", required=False, max_bytes=80)
        notify_url = fields.notify_url(required=False)
        fields.text("funds_account", required=False, choices=("AVAILABLE", "UNSETTLED"))
        amount = fields.obj("amount")
        refund_amount = amount.integer("refund", minimum=1)
        total = amount.integer("total", minimum=1)
        amount.text("currency", choices=("CNY",))

        with self.state.lock:
            self.state.directory.require_sub_merchant(sub_mchid)
            if transaction_id:
                tx = self.state.transactions_by_id.get(transaction_id)
            else:
                tx = self.state.transactions.get((sub_mchid, out_trade_no))
            if tx is None or tx.sub_mchid != sub_mchid:
                raise not_found("订单不存在")
            request_fingerprint = fingerprint(body)
            existing = self.state.refunds.get((sub_mchid, out_refund_no))
            if existing is not None:
                if existing.fingerprint != request_fingerprint:
                    raise invalid_request("商户退款单号重复，且请求参数与原退款单不一致")
                return refund_resource(existing)
            if tx.trade_state not in PAID_STATES:
                raise invalid_request("订单未支付成功，不能退款")
            if total != tx.total:
                raise param_error("/amount/total", "原订单金额与订单实际金额不一致")
            if refund_amount > tx.total - self.state.refunded(tx):
                raise ApiError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            refund = Refund(
                sub_mchid=sub_mchid,
                out_refund_no=out_refund_no,
                refund_id=ids.refund_id(),
                transaction=tx,
                reason=body.get("reason"),
                notify_url=notify_url,
                refund=refund_amount,
                fingerprint=request_fingerprint,
                created_at=now(),
            )
            self.state.refunds[(sub_mchid, out_refund_no)] = refund
            tx.trade_state = "REFUND"
            answer = refund_resource(refund)
        self.scheduler.call_later(self.config.processing_delay, lambda: self._succeed(refund))
        return answer

    def query(self, out_refund_no: str, args: dict) -> dict:
        """GET /v3/refund/domestic/refunds/{out_refund_no}?sub_mchid=…"""
        sub_mchid = Fields(args, location="query").text("sub_mchid")
        with self.state.lock:
            self.state.directory.require_sub_merchant(sub_mchid, "query")
            refund = self.state.refunds.get((sub_mchid, out_refund_no))
            if refund is None:
                raise not_found("退款单不存在")
            return refund_resource(refund)

    def _succeed(self, refund: Refund) -> None:
        with self.state.lock:
            refund.status = "SUCCESS"
            refund.success_time = now()
            resource = refund_notification_resource(refund)
        if refund.notify_url:
            self.callbacks.send(refund.notify_url, "REFUND.SUCCESS", "退款成功", "refund", resource)
