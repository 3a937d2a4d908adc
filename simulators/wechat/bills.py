"""Trade bills (`GET /v3/bill/tradebill`) and their download, in WeChat's CSV layout:
a header row, one row per payment or refund of the day (Asia/Shanghai), every value
prefixed with a backtick, then a summary header and the summary row. The hash WeChat
returns is the SHA-1 of the uncompressed bill.

Differences from WeChat: today's bill is available at once (WeChat publishes a day's bill
after 10:00 the next day), and the fee is 0.6 % shown to 5 decimals.
Tests can alter a day's bill (`/_sim/bill-tamper`) to stage reconciliation mismatches."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
from datetime import date, timedelta
from decimal import Decimal

from . import ids
from .clock import CST, bill_time, now
from .config import SimulatorConfig
from .errors import ApiError, not_found, param_error
from .state import BillTamper, Refund, SimulatorState, Transaction
from .validation import Fields

COLUMNS = (
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
)
SUMMARY_COLUMNS = (
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
)
# Summary column -> the row column it adds up.
SUMMED = {
    "应结订单总金额": "应结订单金额",
    "退款总金额": "退款金额",
    "充值券退款总金额": "充值券退款金额",
    "手续费总金额": "手续费",
    "订单总金额": "订单金额",
    "申请退款总金额": "申请退款金额",
}
BILL_TYPES = ("ALL", "SUCCESS", "REFUND")
BILL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TAMPER_ACTIONS = ("drop", "change")
DOWNLOAD_LIFETIME = timedelta(minutes=5)
FEE_RATE = Decimal("0.006")


def yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def fee(fen: int) -> str:
    return f"{Decimal(fen) / 100 * FEE_RATE:.5f}"


def _openid(tx: Transaction) -> str:
    return tx.payer.get("sub_openid") or tx.payer.get("sp_openid", "")


def payment_row(tx: Transaction) -> dict:
    return {
        "交易时间": bill_time(tx.success_time),
        "公众账号ID": tx.sp_appid,
        "商户号": tx.sp_mchid,
        "特约商户号": tx.sub_mchid,
        "设备号": "",
        "微信订单号": tx.transaction_id,
        "商户订单号": tx.out_trade_no,
        "用户标识": _openid(tx),
        "交易类型": tx.trade_type,
        "交易状态": "SUCCESS",
        "付款银行": "OTHERS",
        "货币种类": tx.currency,
        "应结订单金额": yuan(tx.total),
        "代金券金额": "0.00",
        "微信退款单号": "0",
        "商户退款单号": "0",
        "退款金额": "0.00",
        "充值券退款金额": "0.00",
        "退款类型": "",
        "退款状态": "",
        "商品名称": tx.description,
        "商户数据包": tx.attach or "",
        "手续费": fee(tx.total),
        "费率": "0.60%",
        "订单金额": yuan(tx.total),
        "申请退款金额": "0.00",
        "费率备注": "",
    }


def refund_row(refund: Refund) -> dict:
    row = payment_row(refund.transaction)
    row.update(
        {
            "交易时间": bill_time(refund.created_at),
            "交易状态": "REFUND",
            "应结订单金额": "0.00",
            "微信退款单号": refund.refund_id,
            "商户退款单号": refund.out_refund_no,
            "退款金额": yuan(refund.refund),
            "退款类型": "ORIGINAL",
            "退款状态": refund.status,
            "手续费": "-" + fee(refund.refund),
            "订单金额": "0.00",
            "申请退款金额": yuan(refund.refund),
        }
    )
    return row


def render(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows([["`" + row[column] for column in COLUMNS] for row in rows])
    writer.writerow(SUMMARY_COLUMNS)
    summary = [str(len(rows))] + [
        str(sum((Decimal(row[SUMMED[column]]) for row in rows), Decimal("0.00")))
        for column in SUMMARY_COLUMNS[1:]
    ]
    writer.writerow(["`" + value for value in summary])
    return buffer.getvalue().encode()


class BillService:
    def __init__(self, config: SimulatorConfig, state: SimulatorState):
        self.config = config
        self.state = state

    def trade_bill(self, args: dict) -> dict:
        """GET /v3/bill/tradebill?bill_date&sub_mchid&bill_type&tar_type."""
        fields = Fields(args, location="query")
        bill_date = self._bill_date(fields.text("bill_date", pattern=BILL_DATE))
        sub_mchid = fields.text("sub_mchid", required=False)
        bill_type = fields.text("bill_type", required=False, choices=BILL_TYPES) or "ALL"
        tar_type = fields.text("tar_type", required=False, choices=("GZIP",))
        with self.state.lock:
            if sub_mchid:
                self.state.directory.require_sub_merchant(sub_mchid, "query")
            rows = self._rows(bill_date, sub_mchid, bill_type)
            if not rows:
                raise ApiError(400, "NO_STATEMENT_EXIST", "账单文件不存在，当日无交易")
            content = render(self._tampered(bill_date, rows))
            payload = gzip.compress(content, mtime=0) if tar_type else content
            content_type = "application/gzip" if tar_type else "text/csv; charset=utf-8"
            download_token = ids.token(48)
            self.state.bill_downloads[download_token] = (
                payload,
                content_type,
                now() + DOWNLOAD_LIFETIME,
            )
        return {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(content, usedforsecurity=False).hexdigest(),
            "download_url": f"{self.config.public_url}/v3/billdownload/file?token={download_token}",
        }

    def download(self, args: dict) -> tuple[bytes, str]:
        """GET /v3/billdownload/file?token=… (signed like any API v3 call, answer unsigned)."""
        download_token = Fields(args, location="query").text("token")
        with self.state.lock:
            entry = self.state.bill_downloads.get(download_token)
            if entry is None or entry[2] < now():
                raise not_found("下载链接不存在或已过期")
            return entry[0], entry[1]

    def add_tamper(self, body: dict) -> dict:
        """Make a day's bill differ from the truth: drop a row, or change some of its
        columns. The row is the payment of `out_trade_no`, or its refund `out_refund_no`."""
        fields = Fields(body)
        bill_date = self._bill_date(fields.text("bill_date", pattern=BILL_DATE))
        out_trade_no = fields.text("out_trade_no")
        out_refund_no = fields.text("out_refund_no", required=False)
        action = fields.text("action", choices=TAMPER_ACTIONS)
        changes = fields.obj("changes", required=action == "change")
        changes = changes.data if changes else {}
        unknown = [column for column in changes if column not in COLUMNS]
        if unknown:
            raise param_error("/changes", f"没有这些列: {', '.join(unknown)}")
        for column in set(changes) & set(SUMMED.values()):
            if not re.fullmatch(r"-?\d+(\.\d+)?", str(changes[column])):
                raise param_error(f"/changes/{column}", "金额列须为数字，如 1.00")
        with self.state.lock:
            tamper = BillTamper(
                id=len(self.state.bill_tampers) + 1,
                bill_date=bill_date.isoformat(),
                out_trade_no=out_trade_no,
                out_refund_no=out_refund_no,
                action=action,
                changes={column: str(value) for column, value in changes.items()},
            )
            self.state.bill_tampers.append(tamper)
            return vars(tamper)

    def tampers(self) -> list[dict]:
        with self.state.lock:
            return [vars(tamper) for tamper in self.state.bill_tampers]

    def clear_tampers(self) -> None:
        with self.state.lock:
            self.state.bill_tampers.clear()

    @staticmethod
    def _bill_date(value: str) -> date:
        try:
            bill_date = date.fromisoformat(value)
        except ValueError:
            raise param_error("/bill_date", "应为 yyyy-MM-DD 格式的日期", "query") from None
        if bill_date > now().date():
            raise param_error("/bill_date", "账单日期不能晚于今天", "query")
        return bill_date

    def _rows(self, bill_date: date, sub_mchid: str | None, bill_type: str) -> list[dict]:
        def wanted(tx: Transaction) -> bool:
            return sub_mchid is None or tx.sub_mchid == sub_mchid

        dated = []
        if bill_type in ("ALL", "SUCCESS"):
            dated += [
                (tx.success_time, payment_row(tx))
                for tx in self.state.transactions.values()
                if tx.success_time
                and wanted(tx)
                and tx.success_time.astimezone(CST).date() == bill_date
            ]
        if bill_type in ("ALL", "REFUND"):
            dated += [
                (refund.created_at, refund_row(refund))
                for refund in self.state.refunds.values()
                if wanted(refund.transaction)
                and refund.created_at.astimezone(CST).date() == bill_date
            ]
        return [row for _, row in sorted(dated, key=lambda pair: pair[0])]

    def _tampered(self, bill_date: date, rows: list[dict]) -> list[dict]:
        result = []
        for row in rows:
            refund_no = row["商户退款单号"] if row["交易状态"] == "REFUND" else None
            rules = [
                tamper
                for tamper in self.state.bill_tampers
                if tamper.bill_date == bill_date.isoformat()
                and tamper.out_trade_no == row["商户订单号"]
                and tamper.out_refund_no == refund_no
            ]
            if any(rule.action == "drop" for rule in rules):
                continue
            for rule in rules:
                row = {**row, **rule.changes}
            result.append(row)
        return result
