"""Profit sharing (`/v3/profitsharing/*`) for sub-merchants' transactions.

A transaction ordered with settle_info.profit_sharing=true keeps its funds frozen; the
provider shares up to the sub-merchant's `max_ratio` (basis points) of it to receivers
added beforehand, unfreezes the rest to the sub-merchant, and may claw shares back from
merchant receivers. Orders and returns are PROCESSING for `processing_delay`, then final;
with a `profitsharing_notify_url` set, each receiver's share sends PROFITSHARING.SUCCESS."""

from __future__ import annotations

import re

from . import ids
from .callbacks import CallbackDispatcher
from .clock import now, rfc3339
from .config import SimulatorConfig
from .errors import ApiError, invalid_request, not_found, param_error
from .pay import PAID_STATES, fingerprint
from .scheduler import Scheduler
from .signing import decrypt_sensitive, require_encryption_serial
from .state import (
    Receiver,
    SharingLine,
    SharingOrder,
    SharingReturn,
    SimulatorState,
    Transaction,
)
from .validation import Fields

RECEIVER_TYPES = ("MERCHANT_ID", "PERSONAL_OPENID", "PERSONAL_SUB_OPENID")
RELATION_TYPES = (
    "STORE",
    "STAFF",
    "STORE_OWNER",
    "PARTNER",
    "HEADQUARTER",
    "BRAND",
    "DISTRIBUTOR",
    "USER",
    "SUPPLIER",
    "CUSTOM",
)
OUT_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
MAX_RECEIVERS = 50


def order_resource(order: SharingOrder) -> dict:
    return {
        "sub_mchid": order.sub_mchid,
        "transaction_id": order.transaction.transaction_id,
        "out_order_no": order.out_order_no,
        "order_id": order.order_id,
        "state": order.state,
        "receivers": [
            {
                "type": line.type,
                "account": line.account,
                "amount": line.amount,
                "description": line.description,
                "result": line.result,
                "detail_id": line.detail_id,
                "create_time": rfc3339(order.created_at),
                **({"finish_time": rfc3339(line.finish_time)} if line.finish_time else {}),
            }
            for line in order.lines
        ],
    }


def return_resource(sharing_return: SharingReturn) -> dict:
    resource = {
        "sub_mchid": sharing_return.sub_mchid,
        "order_id": sharing_return.order.order_id,
        "out_order_no": sharing_return.order.out_order_no,
        "out_return_no": sharing_return.out_return_no,
        "return_id": sharing_return.return_id,
        "return_mchid": sharing_return.return_mchid,
        "amount": sharing_return.amount,
        "description": sharing_return.description,
        "result": sharing_return.result,
        "create_time": rfc3339(sharing_return.created_at),
    }
    if sharing_return.finish_time:
        resource["finish_time"] = rfc3339(sharing_return.finish_time)
    return resource


class ProfitSharingService:
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

    # Receivers ---------------------------------------------------------------------------

    def add_receiver(self, body: dict, wechatpay_serial: str | None) -> dict:
        """POST /v3/profitsharing/receivers/add."""
        fields = Fields(body)
        sub_mchid = fields.text("sub_mchid")
        appid = fields.text("appid")
        sub_appid = fields.text("sub_appid", required=False)
        receiver_type = fields.text("type", choices=RECEIVER_TYPES)
        account = fields.text("account", max_bytes=64)
        encrypted_name = fields.text(
            "name", required=receiver_type == "MERCHANT_ID", max_bytes=1024
        )
        relation_type = fields.text("relation_type", choices=RELATION_TYPES)
        custom_relation = fields.text(
            "custom_relation", required=relation_type == "CUSTOM", max_bytes=30
        )
        name = None
        if encrypted_name:
            require_encryption_serial(self.config.credentials, wechatpay_serial)
            name = decrypt_sensitive(self.config.credentials, "/name", encrypted_name)
        with self.state.lock:
            self._check_receiver_account(sub_mchid, appid, sub_appid, receiver_type, account)
            self.state.receivers.setdefault(sub_mchid, {})[(receiver_type, account)] = Receiver(
                receiver_type, account, relation_type, custom_relation, name
            )
        answer = {
            "sub_mchid": sub_mchid,
            "type": receiver_type,
            "account": account,
            "relation_type": relation_type,
        }
        if custom_relation:
            answer["custom_relation"] = custom_relation
        return answer

    def delete_receiver(self, body: dict) -> dict:
        """POST /v3/profitsharing/receivers/delete."""
        fields = Fields(body)
        sub_mchid = fields.text("sub_mchid")
        appid = fields.text("appid")
        sub_appid = fields.text("sub_appid", required=False)
        receiver_type = fields.text("type", choices=RECEIVER_TYPES)
        account = fields.text("account", max_bytes=64)
        with self.state.lock:
            self._check_receiver_account(sub_mchid, appid, sub_appid, receiver_type, account)
            self.state.receivers.get(sub_mchid, {}).pop((receiver_type, account), None)
        return {"sub_mchid": sub_mchid, "type": receiver_type, "account": account}

    # Orders ------------------------------------------------------------------------------

    def create_order(self, body: dict, wechatpay_serial: str | None) -> dict:
        """POST /v3/profitsharing/orders, idempotent by out_order_no."""
        fields = Fields(body)
        sub_mchid = fields.text("sub_mchid")
        appid = fields.text("appid")
        fields.text("sub_appid", required=False)
        transaction_id = fields.text("transaction_id")
        out_order_no = fields.text("out_order_no", pattern=OUT_NO)
        unfreeze_unsplit = fields.boolean("unfreeze_unsplit", required=True)
        lines = []
        for index, item in enumerate(fields.array("receivers", max_items=MAX_RECEIVERS)):
            receiver = Fields(item, f"/receivers/{index}")
            encrypted_name = receiver.text("name", required=False, max_bytes=1024)
            if encrypted_name:
                require_encryption_serial(self.config.credentials, wechatpay_serial)
                decrypt_sensitive(
                    self.config.credentials, f"/receivers/{index}/name", encrypted_name
                )
            lines.append(
                SharingLine(
                    type=receiver.text("type", choices=RECEIVER_TYPES),
                    account=receiver.text("account", max_bytes=64),
                    amount=receiver.integer("amount", minimum=1),
                    description=receiver.text("description", max_bytes=80),
                    detail_id=ids.profitsharing_detail_id(),
                )
            )
        with self.state.lock:
            self.state.directory.require_sub_merchant(sub_mchid)
            self.state.directory.require_sp_app(appid, "/appid")
            existing = self._repeat(sub_mchid, out_order_no, body)
            if existing is not None:
                return existing
            tx = self._shareable_transaction(sub_mchid, transaction_id)
            added = self.state.receivers.get(sub_mchid, {})
            for index, line in enumerate(lines):
                if (line.type, line.account) not in added:
                    raise invalid_request(
                        f"分账接收方 receivers[{index}] {line.account} 未添加，"
                        "请先调用添加分账接收方接口"
                    )
            requested = sum(line.amount for line in lines)
            merchant = self.state.directory.sub_merchants[sub_mchid]
            cap = tx.total * merchant.max_ratio // 10000
            if self.state.shared(tx, include_unfreeze=False) + requested > cap:
                raise invalid_request(
                    f"分账金额超出最大分账比例 {merchant.max_ratio / 100:g}%（最多可分 {cap} 分）"
                )
            if requested > self.unsplit(tx):
                raise ApiError(403, "NOT_ENOUGH", "分账金额超过订单待分账金额")
            order = self._open_order(
                sub_mchid,
                out_order_no,
                tx,
                lines,
                body,
                unfreeze_unsplit=unfreeze_unsplit,
                is_unfreeze=False,
            )
            return order_resource(order)

    def unfreeze(self, body: dict) -> dict:
        """POST /v3/profitsharing/orders/unfreeze: the rest goes back to the sub-merchant."""
        fields = Fields(body)
        sub_mchid = fields.text("sub_mchid")
        transaction_id = fields.text("transaction_id")
        out_order_no = fields.text("out_order_no", pattern=OUT_NO)
        description = fields.text("description", max_bytes=80)
        with self.state.lock:
            self.state.directory.require_sub_merchant(sub_mchid)
            existing = self._repeat(sub_mchid, out_order_no, body)
            if existing is not None:
                return existing
            tx = self._shareable_transaction(sub_mchid, transaction_id)
            remaining = self.unsplit(tx)
            if remaining <= 0:
                raise invalid_request("订单没有待分账金额，无需解冻")
            line = SharingLine(
                "MERCHANT_ID", sub_mchid, remaining, description, ids.profitsharing_detail_id()
            )
            order = self._open_order(
                sub_mchid, out_order_no, tx, [line], body, unfreeze_unsplit=True, is_unfreeze=True
            )
            return order_resource(order)

    def query_order(self, out_order_no: str, args: dict) -> dict:
        """GET /v3/profitsharing/orders/{out_order_no}?sub_mchid&transaction_id."""
        fields = Fields(args, location="query")
        sub_mchid = fields.text("sub_mchid")
        transaction_id = fields.text("transaction_id")
        with self.state.lock:
            self.state.directory.require_sub_merchant(sub_mchid, "query")
            order = self.state.sharing_orders.get((sub_mchid, out_order_no))
            if order is None or order.transaction.transaction_id != transaction_id:
                raise not_found("分账单不存在")
            return order_resource(order)

    # Returns -----------------------------------------------------------------------------

    def create_return(self, body: dict) -> dict:
        """POST /v3/profitsharing/return-orders: claw a share back from a merchant receiver."""
        fields = Fields(body)
        sub_mchid = fields.text("sub_mchid")
        order_id = fields.text("order_id", required=False)
        out_order_no = fields.text("out_order_no", required=False)
        if not (order_id or out_order_no):
            raise param_error("/out_order_no", "order_id 与 out_order_no 须填其一")
        out_return_no = fields.text("out_return_no", pattern=OUT_NO)
        return_mchid = fields.text("return_mchid", max_bytes=32)
        amount = fields.integer("amount", minimum=1)
        description = fields.text("description", max_bytes=80)
        with self.state.lock:
            self.state.directory.require_sub_merchant(sub_mchid)
            request_fingerprint = fingerprint(body)
            existing = self.state.sharing_returns.get((sub_mchid, out_return_no))
            if existing is not None:
                if existing.fingerprint != request_fingerprint:
                    raise invalid_request("商户回退单号重复，且请求参数与原回退单不一致")
                return return_resource(existing)
            order = self._find_order(sub_mchid, order_id, out_order_no)
            shared = sum(
                line.amount
                for line in order.lines
                if line.type == "MERCHANT_ID" and line.account == return_mchid
            )
            if order.is_unfreeze or not shared:
                raise invalid_request(f"{return_mchid} 不是该分账单的商户分账接收方")
            if order.state != "FINISHED":
                raise invalid_request("分账单处理中，暂不能回退")
            returned = sum(
                item.amount
                for item in self.state.sharing_returns.values()
                if item.order is order and item.return_mchid == return_mchid
            )
            if amount > shared - returned:
                raise ApiError(403, "NOT_ENOUGH", "回退金额超过可回退金额")
            sharing_return = SharingReturn(
                sub_mchid=sub_mchid,
                out_return_no=out_return_no,
                return_id=ids.profitsharing_return_id(),
                order=order,
                return_mchid=return_mchid,
                amount=amount,
                description=description,
                fingerprint=request_fingerprint,
                created_at=now(),
            )
            self.state.sharing_returns[(sub_mchid, out_return_no)] = sharing_return
            answer = return_resource(sharing_return)
        self.scheduler.call_later(
            self.config.processing_delay, lambda: self._finish_return(sharing_return)
        )
        return answer

    def query_return(self, out_return_no: str, args: dict) -> dict:
        """GET /v3/profitsharing/return-orders/{out_return_no}?sub_mchid&out_order_no."""
        fields = Fields(args, location="query")
        sub_mchid = fields.text("sub_mchid")
        out_order_no = fields.text("out_order_no")
        with self.state.lock:
            self.state.directory.require_sub_merchant(sub_mchid, "query")
            sharing_return = self.state.sharing_returns.get((sub_mchid, out_return_no))
            if sharing_return is None or sharing_return.order.out_order_no != out_order_no:
                raise not_found("回退单不存在")
            return return_resource(sharing_return)

    # Configuration and amounts ------------------------------------------------------------

    def merchant_config(self, sub_mchid: str) -> dict:
        """GET /v3/profitsharing/merchant-configs/{sub_mchid}."""
        with self.state.lock:
            merchant = self.state.directory.sub_merchants.get(sub_mchid)
            if merchant is None:
                raise not_found("特约商户不存在")
            return {"sub_mchid": sub_mchid, "max_ratio": merchant.max_ratio}

    def amounts(self, transaction_id: str) -> dict:
        """GET /v3/profitsharing/transactions/{transaction_id}/amounts."""
        with self.state.lock:
            tx = self.state.transactions_by_id.get(transaction_id)
            if tx is None:
                raise not_found("订单不存在")
            return {"transaction_id": transaction_id, "unsplit_amount": self.unsplit(tx)}

    def unsplit(self, tx: Transaction) -> int:
        """Frozen funds not yet shared, unfrozen or refunded."""
        if not tx.profit_sharing or tx.profit_sharing_unfrozen:
            return 0
        remaining = (
            tx.total - self.state.refunded(tx) - self.state.shared(tx, include_unfreeze=True)
        )
        return max(remaining, 0)

    # Internals ---------------------------------------------------------------------------

    def _check_receiver_account(
        self, sub_mchid: str, appid: str, sub_appid: str | None, receiver_type: str, account: str
    ) -> None:
        directory = self.state.directory
        merchant = directory.require_sub_merchant(sub_mchid)
        directory.require_sp_app(appid, "/appid")
        if sub_appid:
            directory.require_sub_app(merchant, sub_appid)
        if receiver_type == "PERSONAL_OPENID":
            directory.require_user(appid, account, "/account")
        elif receiver_type == "PERSONAL_SUB_OPENID":
            if not sub_appid:
                raise param_error("/sub_appid", "类型为 PERSONAL_SUB_OPENID 时 sub_appid 必填")
            directory.require_user(sub_appid, account, "/account")
        elif not account.isdigit():
            raise param_error("/account", "商户号应为数字")

    def _repeat(self, sub_mchid: str, out_order_no: str, body: dict) -> dict | None:
        existing = self.state.sharing_orders.get((sub_mchid, out_order_no))
        if existing is None:
            return None
        if existing.fingerprint != fingerprint(body):
            raise invalid_request("商户分账单号重复，且请求参数与原分账单不一致")
        return order_resource(existing)

    def _shareable_transaction(self, sub_mchid: str, transaction_id: str) -> Transaction:
        tx = self.state.transactions_by_id.get(transaction_id)
        if tx is None or tx.sub_mchid != sub_mchid:
            raise not_found("订单不存在")
        if not tx.profit_sharing:
            raise invalid_request("该订单下单时未指定 settle_info.profit_sharing=true，不能分账")
        if tx.trade_state not in PAID_STATES:
            raise invalid_request("订单未支付成功，不能分账")
        if tx.profit_sharing_unfrozen:
            raise invalid_request("订单剩余资金已解冻，不能再分账")
        return tx

    def _find_order(self, sub_mchid: str, order_id: str | None, out_order_no: str | None):
        if out_order_no:
            order = self.state.sharing_orders.get((sub_mchid, out_order_no))
        else:
            order = next(
                (
                    o
                    for o in self.state.sharing_orders.values()
                    if o.sub_mchid == sub_mchid and o.order_id == order_id
                ),
                None,
            )
        if order is None:
            raise not_found("分账单不存在")
        return order

    def _open_order(
        self,
        sub_mchid: str,
        out_order_no: str,
        tx: Transaction,
        lines: list[SharingLine],
        body: dict,
        *,
        unfreeze_unsplit: bool,
        is_unfreeze: bool,
    ) -> SharingOrder:
        order = SharingOrder(
            sub_mchid=sub_mchid,
            out_order_no=out_order_no,
            order_id=ids.profitsharing_order_id(),
            transaction=tx,
            lines=lines,
            unfreeze_unsplit=unfreeze_unsplit,
            is_unfreeze=is_unfreeze,
            fingerprint=fingerprint(body),
            created_at=now(),
        )
        self.state.sharing_orders[(sub_mchid, out_order_no)] = order
        if unfreeze_unsplit:
            tx.profit_sharing_unfrozen = True
        self.scheduler.call_later(self.config.processing_delay, lambda: self._finish_order(order))
        return order

    def _finish_order(self, order: SharingOrder) -> None:
        finished = now()
        with self.state.lock:
            for line in order.lines:
                line.result = "SUCCESS"
                line.finish_time = finished
            order.state = "FINISHED"
            notify_url = self.config.profitsharing_notify_url
            shares = [] if order.is_unfreeze else list(order.lines)
        for line in shares if notify_url else []:
            resource = {
                "sp_mchid": self.config.credentials.sp_mchid,
                "sub_mchid": order.sub_mchid,
                "transaction_id": order.transaction.transaction_id,
                "order_id": order.order_id,
                "out_order_no": order.out_order_no,
                "receiver": {
                    "type": line.type,
                    "account": line.account,
                    "amount": line.amount,
                    "description": line.description,
                },
                "success_time": rfc3339(finished),
            }
            self.callbacks.send(
                notify_url, "PROFITSHARING.SUCCESS", "分账成功", "profitsharing", resource
            )

    def _finish_return(self, sharing_return: SharingReturn) -> None:
        with self.state.lock:
            sharing_return.result = "SUCCESS"
            sharing_return.finish_time = now()
