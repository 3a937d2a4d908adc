"""Partner transfer bills (`/v3/fund-app/mch-transfer/partner/transfer-bills`): a
sub-merchant pays a user's WeChat balance, which the user must confirm in WeChat
(wx.requestMerchantTransfer with the `package_info`). The simulator's user confirms
or lets the bill lapse through `/_sim/transfer/{transfer_bill_no}/confirm|decline`; the
final state is announced by MCHTRANSFER.BILL.FINISHED."""

from __future__ import annotations

import base64
import re
import secrets

from . import ids
from .callbacks import CallbackDispatcher
from .clock import now, rfc3339
from .config import SimulatorConfig
from .errors import invalid_request, not_found, param_error
from .pay import fingerprint
from .scheduler import Scheduler
from .signing import decrypt_sensitive, require_encryption_serial
from .state import SimulatorState, TransferBill
from .validation import Fields

OUT_BILL_NO = re.compile(r"[0-9A-Za-z]{1,32}")
SCENE_ID = re.compile(r"\d{1,36}")
MIN_AMOUNT = 10  # 0.1 yuan, WeChat's lower limit for one transfer
REAL_NAME_THRESHOLD = 200000  # from 2,000 yuan the user's real name is required
CANCELLABLE = ("ACCEPTED", "PROCESSING", "WAIT_USER_CONFIRM", "TRANSFERING")


def bill_resource(bill: TransferBill, sp_mchid: str) -> dict:
    resource = {
        "sp_mchid": sp_mchid,
        "sub_mchid": bill.sub_mchid,
        "out_bill_no": bill.out_bill_no,
        "transfer_bill_no": bill.transfer_bill_no,
        "appid": bill.appid,
        "state": bill.state,
        "transfer_amount": bill.transfer_amount,
        "transfer_remark": bill.transfer_remark,
        "openid": bill.openid,
        "create_time": rfc3339(bill.created_at),
        "update_time": rfc3339(bill.updated_at),
    }
    if bill.fail_reason:
        resource["fail_reason"] = bill.fail_reason
    return resource


class TransferService:
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

    def create(self, body: dict, wechatpay_serial: str | None) -> dict:
        """POST …/partner/transfer-bills, idempotent by out_bill_no."""
        fields = Fields(body)
        sub_mchid = fields.text("sub_mchid")
        appid = fields.text("appid", max_bytes=32)
        out_bill_no = fields.text("out_bill_no", pattern=OUT_BILL_NO)
        transfer_scene_id = fields.text("transfer_scene_id", pattern=SCENE_ID)
        openid = fields.text("openid", max_bytes=64)
        transfer_amount = fields.integer("transfer_amount", minimum=1)
        transfer_remark = fields.text("transfer_remark")
        notify_url = fields.notify_url(required=False)
        user_recv_perception = fields.text("user_recv_perception", required=False)
        encrypted_name = fields.text("user_name", required=False, max_bytes=1024)
        if len(transfer_remark) > 32:
            raise param_error("/transfer_remark", "最多允许32个字符")
        if user_recv_perception and len(user_recv_perception) > 32:
            raise param_error("/user_recv_perception", "最多允许32个字符")
        infos = fields.array("transfer_scene_report_infos", required=False)
        if not infos:
            raise param_error("/transfer_scene_report_infos", "需传入转账场景报备信息，请检查")
        for index, info in enumerate(infos):
            report = Fields(info, f"/transfer_scene_report_infos/{index}")
            report.text("info_type", max_bytes=45)
            report.text("info_content", max_bytes=96)
        if transfer_amount >= REAL_NAME_THRESHOLD and not encrypted_name:
            raise param_error("/user_name", "转账金额 >= 2,000元时，收款用户姓名必填")
        user_name = None
        if encrypted_name:
            require_encryption_serial(self.config.credentials, wechatpay_serial)
            user_name = decrypt_sensitive(self.config.credentials, "/user_name", encrypted_name)

        with self.state.lock:
            directory = self.state.directory
            merchant = directory.require_sub_merchant(sub_mchid)
            app = directory.app(appid)
            if app is None or app.owner_mchid not in (
                merchant.sub_mchid,
                directory.credentials.sp_mchid,
            ):
                raise param_error("/appid", "appid 与商户号不匹配")
            directory.require_user(appid, openid, "/openid")
            request_fingerprint = fingerprint(body)
            existing = self.state.transfers.get(out_bill_no)
            if existing is not None:
                if existing.fingerprint != request_fingerprint:
                    raise invalid_request("单号已存在但信息不一致，请查单后比较确认")
                return self._created_answer(existing)
            if transfer_amount < MIN_AMOUNT:
                raise invalid_request("超过单笔转账上下限，核实产品设置是否准确")
            created = now()
            transfer_bill_no = ids.transfer_bill_no()
            bill = TransferBill(
                sub_mchid=sub_mchid,
                appid=appid,
                out_bill_no=out_bill_no,
                transfer_bill_no=transfer_bill_no,
                transfer_scene_id=transfer_scene_id,
                openid=openid,
                user_name=user_name,
                transfer_amount=transfer_amount,
                transfer_remark=transfer_remark,
                notify_url=notify_url,
                user_recv_perception=user_recv_perception,
                package_info=base64.b64encode(
                    transfer_bill_no.encode() + secrets.token_bytes(24)
                ).decode(),
                fingerprint=request_fingerprint,
                created_at=created,
                updated_at=created,
            )
            self.state.transfers[out_bill_no] = bill
            self.state.transfers_by_no[transfer_bill_no] = bill
            return self._created_answer(bill)

    def query(
        self, args: dict, *, out_bill_no: str | None = None, transfer_bill_no: str | None = None
    ) -> dict:
        """GET …/out-bill-no/{out_bill_no} and …/transfer-bill-no/{transfer_bill_no}."""
        sub_mchid = Fields(args, location="query").text("sub_mchid", required=False)
        with self.state.lock:
            if out_bill_no is not None:
                bill = self.state.transfers.get(out_bill_no)
            else:
                bill = self.state.transfers_by_no.get(transfer_bill_no)
            if bill is None or (sub_mchid and bill.sub_mchid != sub_mchid):
                raise not_found("转账单不存在")
            return bill_resource(bill, self.config.credentials.sp_mchid)

    def cancel(self, out_bill_no: str, body: dict) -> dict:
        """POST …/out-bill-no/{out_bill_no}/cancel: CANCELING now, CANCELLED shortly after."""
        sub_mchid = Fields(body).text("sub_mchid")
        with self.state.lock:
            bill = self.state.transfers.get(out_bill_no)
            if bill is None or bill.sub_mchid != sub_mchid:
                raise not_found("转账单不存在")
            if bill.state in ("SUCCESS", "FAIL"):
                raise invalid_request(f"转账单状态为 {bill.state}，不能撤销")
            if bill.state in CANCELLABLE:
                bill.state = "CANCELING"
                bill.updated_at = now()
                self.scheduler.call_later(
                    self.config.processing_delay,
                    lambda: self._finish(bill, "CANCELLED", "MCH_CANCEL"),
                )
            return {
                "out_bill_no": bill.out_bill_no,
                "transfer_bill_no": bill.transfer_bill_no,
                "state": bill.state,
                "update_time": rfc3339(bill.updated_at),
            }

    def find(self, transfer_bill_no: str) -> TransferBill:
        with self.state.lock:
            bill = self.state.transfers_by_no.get(transfer_bill_no)
            if bill is None:
                raise not_found("转账单不存在")
            return bill

    def user_decides(self, transfer_bill_no: str, confirm: bool) -> dict:
        """The user confirms the transfer (SUCCESS), or never does: WeChat closes the bill
        after 24 hours as FAIL with OVERDUE_CLOSE, which `confirm=False` plays at once."""
        with self.state.lock:
            bill = self.find(transfer_bill_no)
            if bill.state != "WAIT_USER_CONFIRM":
                raise invalid_request(f"转账单状态为 {bill.state}，无需用户确认")
            if confirm:
                return self._finish(bill, "SUCCESS", None)
            return self._finish(bill, "FAIL", "OVERDUE_CLOSE")

    def _created_answer(self, bill: TransferBill) -> dict:
        answer = {
            "out_bill_no": bill.out_bill_no,
            "transfer_bill_no": bill.transfer_bill_no,
            "create_time": rfc3339(bill.created_at),
            "state": bill.state,
        }
        if bill.state == "WAIT_USER_CONFIRM":
            answer["package_info"] = bill.package_info
        if bill.fail_reason:
            answer["fail_reason"] = bill.fail_reason
        return answer

    def _finish(self, bill: TransferBill, state: str, fail_reason: str | None) -> dict:
        """Move the bill to a final state and announce it (queueing only: safe under the lock)."""
        with self.state.lock:
            bill.state = state
            bill.fail_reason = fail_reason
            bill.updated_at = now()
            resource = bill_resource(bill, self.config.credentials.sp_mchid)
        if bill.notify_url:
            self.callbacks.send(
                bill.notify_url,
                "MCHTRANSFER.BILL.FINISHED",
                "商家转账单据终态通知",
                "mch_payment",
                resource,
            )
        return resource
