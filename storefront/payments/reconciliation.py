"""T+1 reconciliation: WeChat's trade bill for a day against this mall's payments.

Every difference becomes a ReconciliationMismatch for staff (once per day, kind and trade);
nothing is corrected automatically: deciding what a difference means is a human job.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from storefront.payments.models import (
    MismatchKind,
    Payment,
    PaymentStatus,
    ReconciliationMismatch,
)
from tenants import wechatpay_gateway
from tenants.wechat_binding import binding_for_schema

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class BillTrade:
    out_trade_no: str
    state: str
    amount_fen: int


def _fen(yuan: str) -> int:
    return int((Decimal(yuan or "0") * 100).to_integral_value())


def parse_trade_bill(content: bytes) -> list[BillTrade]:
    """Rows of WeChat's CSV (values prefixed with a backtick) up to the summary block."""
    if content[:2] == b"\x1f\x8b":
        content = gzip.decompress(content)
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    header = next(reader, [])
    index = {name: i for i, name in enumerate(header)}
    trades = []
    for row in reader:
        if not row or not row[0].startswith("`"):
            break  # the summary block starts with a header line without backticks
        values = [value.lstrip("`") for value in row]
        trades.append(
            BillTrade(
                out_trade_no=values[index["商户订单号"]],
                state=values[index["交易状态"]],
                amount_fen=_fen(values[index["应结订单金额"]]),
            )
        )
    return trades


def download_trade_bill(*, bill_date: dt.date, sub_mchid: str) -> list[BillTrade]:
    client = wechatpay_gateway.client()
    info = wechatpay_gateway.parse(
        *client.trade_bill(bill_date=bill_date.isoformat(), sub_mchid=sub_mchid)
    )
    code, content = client.download_bill(info["download_url"])
    if code != 200:
        raise wechatpay_gateway.WeChatPayError(f"Bill download failed ({code}).")
    content = content if isinstance(content, bytes) else content.encode()
    raw = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
    if info.get("hash_value") and hashlib.sha1(raw).hexdigest() != info["hash_value"].lower():  # noqa: S324 - WeChat's own checksum
        raise wechatpay_gateway.WeChatPayError("The downloaded bill does not match its hash.")
    return parse_trade_bill(raw)


def reconciliation_run(*, bill_date: dt.date) -> list[ReconciliationMismatch]:
    binding = binding_for_schema(connection.schema_name)
    if binding is None:
        return []
    bill = download_trade_bill(bill_date=bill_date, sub_mchid=binding.sub_mchid)
    paid_in_bill = {t.out_trade_no: t for t in bill if t.state == "SUCCESS"}
    start = dt.datetime.combine(bill_date, dt.time.min, tzinfo=SHANGHAI)
    ours = {
        p.out_trade_no: p
        for p in Payment.objects.filter(
            status=PaymentStatus.SUCCEEDED, paid_at__gte=start,
            paid_at__lt=start + dt.timedelta(days=1),
        )
    }
    found: list[tuple[str, str, dict]] = []
    for out_trade_no, payment in ours.items():
        trade = paid_in_bill.get(out_trade_no)
        if trade is None:
            found.append((MismatchKind.MISSING_IN_BILL, out_trade_no,
                          {"our_amount_fen": payment.amount_fen}))
        elif trade.amount_fen != payment.amount_fen:
            found.append((MismatchKind.AMOUNT, out_trade_no,
                          {"our_amount_fen": payment.amount_fen,
                           "bill_amount_fen": trade.amount_fen}))
    for out_trade_no, trade in paid_in_bill.items():
        if out_trade_no not in ours:
            found.append((MismatchKind.MISSING_HERE, out_trade_no,
                          {"bill_amount_fen": trade.amount_fen}))
    mismatches = []
    for kind, out_trade_no, details in found:
        mismatch, _ = ReconciliationMismatch.objects.get_or_create(
            bill_date=bill_date, kind=kind, out_trade_no=out_trade_no,
            defaults={"details": details},
        )
        mismatches.append(mismatch)
    return mismatches


def yesterday_in_shanghai() -> dt.date:
    return timezone.now().astimezone(SHANGHAI).date() - dt.timedelta(days=1)
