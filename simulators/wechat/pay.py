"""Partner-mode transactions: ordering (JSAPI, H5, Native), query, close, and the
simulated shopper paying at the cashier, which queues the TRANSACTION.SUCCESS callback."""

from __future__ import annotations

import json
import re

from . import ids
from .callbacks import CallbackDispatcher
from .clock import now, rfc3339
from .config import SimulatorConfig
from .errors import ApiError, invalid_request, param_error
from .signing import verify_jsapi_pay_sign
from .state import SimulatorState, Transaction
from .validation import Fields

TRADE_TYPES = {"jsapi": "JSAPI", "h5": "MWEB", "native": "NATIVE"}
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-*|]{6,32}")
H5_TYPES = ("Wap", "iOS", "Android")
TRADE_STATE_DESC = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "订单已关闭",
    "REFUND": "转入退款",
    "PAYERROR": "支付失败，请重新下单支付",
}
PAID_STATES = ("SUCCESS", "REFUND")


def fingerprint(body: dict) -> str:
    """What makes two requests "the same" for WeChat's idempotency checks."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


def order_not_found() -> ApiError:
    return ApiError(404, "ORDER_NOT_EXIST", "订单不存在")


def transaction_resource(tx: Transaction) -> dict:
    """The transaction as the query API and the payment callback show it."""
    resource = {
        "sp_appid": tx.sp_appid,
        "sp_mchid": tx.sp_mchid,
        "sub_mchid": tx.sub_mchid,
        "out_trade_no": tx.out_trade_no,
        "trade_type": tx.trade_type,
        "trade_state": tx.trade_state,
        "trade_state_desc": TRADE_STATE_DESC[tx.trade_state],
        "amount": {"total": tx.total, "currency": tx.currency, "payer_currency": tx.currency},
        "payer": dict(tx.payer),
    }
    if tx.sub_appid:
        resource["sub_appid"] = tx.sub_appid
    if tx.attach is not None:
        resource["attach"] = tx.attach
    if tx.transaction_id:
        resource["transaction_id"] = tx.transaction_id
        resource["bank_type"] = "OTHERS"
        resource["success_time"] = rfc3339(tx.success_time)
        resource["amount"]["payer_total"] = tx.total
        resource["promotion_detail"] = []
    if tx.scene_info and tx.scene_info.get("device_id"):
        resource["scene_info"] = {"device_id": tx.scene_info["device_id"]}
    return resource


class PayService:
    def __init__(
        self, config: SimulatorConfig, state: SimulatorState, callbacks: CallbackDispatcher
    ):
        self.config = config
        self.state = state
        self.callbacks = callbacks

    def create(self, kind: str, body: dict) -> dict:
        """POST /v3/pay/partner/transactions/{jsapi,h5,native}."""
        trade_type = TRADE_TYPES[kind]
        fields = Fields(body)
        sp_appid = fields.text("sp_appid", max_bytes=32)
        sp_mchid = fields.text("sp_mchid", max_bytes=32)
        sub_appid = fields.text("sub_appid", required=False, max_bytes=32)
        sub_mchid = fields.text("sub_mchid", max_bytes=32)
        description = fields.text("description", max_bytes=127)
        out_trade_no = fields.text("out_trade_no", pattern=OUT_TRADE_NO)
        time_expire = fields.timestamp("time_expire")
        attach = fields.text("attach", required=False, max_bytes=128)
        notify_url = fields.notify_url()
        amount = fields.obj("amount")
        total = amount.integer("total", minimum=1)
        currency = amount.text("currency", required=False, choices=("CNY",)) or "CNY"
        settle_info = fields.obj("settle_info", required=False)
        profit_sharing = bool(settle_info and settle_info.boolean("profit_sharing"))
        scene_info = self._scene_info(fields, trade_type)
        payer = self._payer(fields, trade_type, sub_appid)
        if time_expire is not None and time_expire <= now():
            raise param_error("/time_expire", "time_expire 须晚于当前时间")

        with self.state.lock:
            directory = self.state.directory
            directory.require_sp_mchid(sp_mchid)
            merchant = directory.require_sub_merchant(sub_mchid)
            directory.require_sp_app(sp_appid)
            if sub_appid:
                directory.require_sub_app(merchant, sub_appid)
            if "sp_openid" in payer:
                directory.require_user(sp_appid, payer["sp_openid"], "/payer/sp_openid")
            if "sub_openid" in payer:
                directory.require_user(sub_appid, payer["sub_openid"], "/payer/sub_openid")
            request_fingerprint = fingerprint({"trade_type": trade_type, **body})
            existing = self.state.transactions.get((sub_mchid, out_trade_no))
            if existing is not None:
                return self._repeat(existing, request_fingerprint)
            tx = Transaction(
                prepay_id=ids.prepay_id(),
                trade_type=trade_type,
                sp_appid=sp_appid,
                sp_mchid=sp_mchid,
                sub_mchid=sub_mchid,
                sub_appid=sub_appid,
                out_trade_no=out_trade_no,
                description=description,
                notify_url=notify_url,
                total=total,
                currency=currency,
                payer=payer,
                attach=attach,
                time_expire=time_expire,
                profit_sharing=profit_sharing,
                scene_info=scene_info,
                fingerprint=request_fingerprint,
                created_at=now(),
            )
            self.state.transactions[(sub_mchid, out_trade_no)] = tx
            self.state.transactions_by_prepay[tx.prepay_id] = tx
            return self._prepay_answer(tx)

    def query(
        self, args: dict, *, out_trade_no: str | None = None, transaction_id: str | None = None
    ) -> dict:
        """GET …/out-trade-no/{out_trade_no} and …/id/{transaction_id}."""
        fields = Fields(args, location="query")
        sp_mchid = fields.text("sp_mchid")
        sub_mchid = fields.text("sub_mchid")
        with self.state.lock:
            self.state.directory.require_sp_mchid(sp_mchid, "query")
            self.state.directory.require_sub_merchant(sub_mchid, "query")
            if transaction_id is not None:
                tx = self.state.transactions_by_id.get(transaction_id)
            else:
                tx = self.state.transactions.get((sub_mchid, out_trade_no))
            if tx is None or tx.sub_mchid != sub_mchid:
                raise order_not_found()
            return transaction_resource(tx)

    def close(self, out_trade_no: str, body: dict) -> None:
        """POST …/out-trade-no/{out_trade_no}/close: 204, also for an order already closed."""
        fields = Fields(body)
        sp_mchid = fields.text("sp_mchid")
        sub_mchid = fields.text("sub_mchid")
        with self.state.lock:
            self.state.directory.require_sp_mchid(sp_mchid)
            self.state.directory.require_sub_merchant(sub_mchid)
            tx = self.state.transactions.get((sub_mchid, out_trade_no))
            if tx is None:
                raise order_not_found()
            if tx.trade_state in PAID_STATES:
                raise ApiError(400, "ORDERPAID", "订单已支付，不能关闭")
            tx.trade_state = "CLOSED"

    def find(self, prepay_id: str) -> Transaction:
        """The transaction behind a prepay_id, for the cashier page."""
        with self.state.lock:
            tx = self.state.transactions_by_prepay.get(prepay_id)
            if tx is None:
                raise order_not_found()
            return tx

    def pay(self, prepay_id: str, user_key: str | None = None, outcome: str = "SUCCESS") -> dict:
        """The shopper pays (or the payment fails, outcome PAYERROR). A JSAPI order is paid
        by the user it was placed for; Native and H5 orders by `user_key` (default: the
        first test user)."""
        if outcome not in ("SUCCESS", "PAYERROR"):
            raise param_error("/outcome", "取值应为 SUCCESS|PAYERROR 之一")
        with self.state.lock:
            tx = self.find(prepay_id)
            if tx.trade_state not in ("NOTPAY", "PAYERROR"):
                raise invalid_request(f"订单状态为 {tx.trade_state}，不能支付")
            if tx.expired(now()):
                raise invalid_request("订单已过期，不能支付")
            self._set_payer(tx, user_key)
            if outcome == "PAYERROR":
                tx.trade_state = "PAYERROR"
                return transaction_resource(tx)
            tx.trade_state = "SUCCESS"
            tx.transaction_id = ids.transaction_id()
            tx.success_time = now()
            self.state.transactions_by_id[tx.transaction_id] = tx
            resource = transaction_resource(tx)
        self.callbacks.send(
            tx.notify_url, "TRANSACTION.SUCCESS", "支付成功", "transaction", resource
        )
        return resource

    def pay_jsapi(self, params: dict) -> dict:
        """What WeixinJSBridge / wx.requestPayment does with the front-end parameters:
        check the paySign the merchant computed, then pay as the order's user."""
        fields = Fields(params)
        app_id = fields.text("appId")
        timestamp = fields.text("timeStamp")
        nonce = fields.text("nonceStr")
        package = fields.text("package", pattern=re.compile(r"prepay_id=\S+"))
        fields.text("signType", choices=("RSA",))
        pay_sign = fields.text("paySign")
        tx = self.find(package.removeprefix("prepay_id="))
        paying_appid = tx.sub_appid if "sub_openid" in tx.payer else tx.sp_appid
        if app_id != paying_appid:
            raise param_error("/appId", "appId 与下单时的 appid 不一致")
        if not verify_jsapi_pay_sign(
            self.config.credentials, app_id, timestamp, nonce, package, pay_sign
        ):
            raise ApiError(400, "SIGN_ERROR", "paySign 签名错误")
        return self.pay(tx.prepay_id)

    def _repeat(self, tx: Transaction, request_fingerprint: str) -> dict:
        if tx.trade_state in PAID_STATES:
            raise ApiError(400, "ORDERPAID", "该订单已支付")
        if tx.trade_state == "CLOSED":
            raise ApiError(400, "ORDER_CLOSED", "该订单已关闭")
        if tx.fingerprint != request_fingerprint:
            raise invalid_request("商户订单号重复，且请求参数与原订单不一致")
        return self._prepay_answer(tx)

    def _prepay_answer(self, tx: Transaction) -> dict:
        cashier_url = f"{self.config.public_url}/_sim/cashier/{tx.prepay_id}"
        if tx.trade_type == "NATIVE":
            return {"code_url": cashier_url}
        if tx.trade_type == "MWEB":
            return {"h5_url": cashier_url}
        return {"prepay_id": tx.prepay_id}

    @staticmethod
    def _scene_info(fields: Fields, trade_type: str) -> dict | None:
        scene = fields.obj("scene_info", required=trade_type == "MWEB")
        if scene is None:
            return None
        scene.text("payer_client_ip", max_bytes=45)
        scene.text("device_id", required=False, max_bytes=32)
        if trade_type == "MWEB":
            h5_info = scene.obj("h5_info")
            h5_info.text("type", choices=H5_TYPES)
        return scene.data

    @staticmethod
    def _payer(fields: Fields, trade_type: str, sub_appid: str | None) -> dict:
        if trade_type != "JSAPI":
            return {}
        payer = fields.obj("payer")
        sp_openid = payer.text("sp_openid", required=False, max_bytes=128)
        sub_openid = payer.text("sub_openid", required=False, max_bytes=128)
        if not (sp_openid or sub_openid):
            raise param_error("/payer/sp_openid", "sp_openid 与 sub_openid 须填其一")
        if sub_openid and not sub_appid:
            raise param_error("/sub_appid", "传 payer.sub_openid 时 sub_appid 必填")
        return {
            key: value
            for key, value in (("sp_openid", sp_openid), ("sub_openid", sub_openid))
            if value
        }

    def _set_payer(self, tx: Transaction, user_key: str | None) -> None:
        directory = self.state.directory
        if tx.trade_type == "JSAPI":
            openid, appid = (
                (tx.payer["sub_openid"], tx.sub_appid)
                if "sub_openid" in tx.payer
                else (tx.payer["sp_openid"], tx.sp_appid)
            )
            owner = directory.user_by_openid(appid, openid)
            if user_key is not None and owner is not None and owner.key != user_key:
                raise invalid_request("JSAPI 订单只能由下单时指定的用户支付")
            return
        user = directory.users.get(user_key) if user_key else next(iter(directory.users.values()))
        if user is None:
            raise param_error("/user", f"没有测试用户 {user_key}")
        tx.payer = {"sp_openid": directory.openid(tx.sp_appid, user)}
        if tx.sub_appid:
            tx.payer["sub_openid"] = directory.openid(tx.sub_appid, user)
