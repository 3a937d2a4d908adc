"""T+1 reconciliation: WeChat's trade bill for a day against this mall's payments,
refunds and ledger, fees included.

Every difference becomes a ReconciliationMismatch for staff (once per day, kind and trade);
nothing is corrected automatically: deciding what a difference means is a human job. The
day's fees, which only the bill states, are booked to the ledger once (ReconciledBill).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.utils import timezone

from storefront.ledger.models import AccountCode
from storefront.ledger.selectors import entry_totals
from storefront.payments import ledger_postings
from storefront.payments.errors import MismatchAlreadyResolved, MismatchNotFound
from storefront.payments.models import (
    MismatchKind,
    Payment,
    PaymentStatus,
    ReconciledBill,
    ReconciliationMismatch,
    Refund,
    RefundStatus,
)
from tenants import wechatpay_gateway
from tenants.wechat_binding import binding_for_schema

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class BillTrade:
    """One row of the bill: a payment (state SUCCESS) or a refund (state REFUND)."""

    out_trade_no: str
    state: str
    amount_fen: int  # 应结订单金额 (0 on refund rows)
    fee_fen: int  # 手续费, rounded to the fen; negative on refund rows (returned)
    out_refund_no: str = ""
    refund_fen: int = 0
    refund_status: str = ""


def _fen(yuan: str) -> int:
    """Yuan as WeChat writes them (up to 5 decimals for fees) to whole fen, half up."""
    return int((Decimal(yuan or "0") * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


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
        refund_no = values[index["商户退款单号"]]
        trades.append(
            BillTrade(
                out_trade_no=values[index["商户订单号"]],
                state=values[index["交易状态"]],
                amount_fen=_fen(values[index["应结订单金额"]]),
                fee_fen=_fen(values[index["手续费"]]),
                out_refund_no="" if refund_no == "0" else refund_no,
                refund_fen=_fen(values[index["退款金额"]]),
                refund_status=values[index["退款状态"]],
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
    """Compare a day's bill with this mall's payments, refunds and ledger, and post the
    day's fees. Every difference is flagged once (per day, kind and trade); nothing else is
    corrected automatically."""
    binding = binding_for_schema(connection.schema_name)
    if binding is None:
        return []
    bill = download_trade_bill(bill_date=bill_date, sub_mchid=binding.sub_mchid)
    paid_in_bill = {t.out_trade_no: t for t in bill if t.state == "SUCCESS"}
    refunds_in_bill = {
        t.out_refund_no: t for t in bill
        if t.state == "REFUND" and t.out_refund_no and t.refund_status == "SUCCESS"
    }
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
    known_trades = set(
        Payment.objects.filter(out_trade_no__in=list(paid_in_bill), status=PaymentStatus.SUCCEEDED)
        .values_list("out_trade_no", flat=True)
    )
    for out_trade_no, trade in paid_in_bill.items():
        if out_trade_no not in ours and out_trade_no not in known_trades:
            found.append((MismatchKind.MISSING_HERE, out_trade_no,
                          {"bill_amount_fen": trade.amount_fen}))
    our_refunds = {
        r.out_refund_no: r for r in Refund.objects.filter(
            out_refund_no__in=list(refunds_in_bill)
        ).select_related("payment")
    }
    for out_refund_no, trade in refunds_in_bill.items():
        refund = our_refunds.get(out_refund_no)
        if refund is None or refund.status != RefundStatus.SUCCEEDED \
                or refund.amount_fen != trade.refund_fen:
            found.append((MismatchKind.REFUND, trade.out_trade_no, {
                "out_refund_no": out_refund_no, "bill_refund_fen": trade.refund_fen,
                "our_refund_fen": refund.amount_fen if refund else None,
                "our_status": refund.status if refund else None,
            }))
    found += _ledger_differences(paid_in_bill, refunds_in_bill, known_trades, our_refunds)
    found += _post_fees(bill_date, bill, known_trades, our_refunds)
    mismatches = []
    for kind, out_trade_no, details in found:
        mismatch, _ = ReconciliationMismatch.objects.get_or_create(
            bill_date=bill_date, kind=kind, out_trade_no=out_trade_no,
            defaults={"details": details},
        )
        mismatches.append(mismatch)
    return mismatches


def _ledger_differences(paid_in_bill, refunds_in_bill, known_trades, our_refunds):
    """The ledger must show every trade of the bill that is ours, for the bill's amount, on
    the WeChat clearing account (money in for a payment, out for a refund)."""
    posted_payments = entry_totals(source="payment", source_keys=list(known_trades),
                                   code=AccountCode.WECHAT_CLEARING)
    posted_refunds = entry_totals(source="refund", source_keys=list(our_refunds),
                                  code=AccountCode.WECHAT_CLEARING)
    found = []
    for out_trade_no in sorted(known_trades):
        bill_fen = paid_in_bill[out_trade_no].amount_fen
        if posted_payments.get(out_trade_no) != bill_fen:
            found.append((MismatchKind.LEDGER, out_trade_no, {
                "source": "payment", "bill_fen": bill_fen,
                "ledger_fen": posted_payments.get(out_trade_no),
            }))
    for out_refund_no in sorted(our_refunds):
        trade = refunds_in_bill[out_refund_no]
        if posted_refunds.get(out_refund_no) != -trade.refund_fen:
            found.append((MismatchKind.LEDGER, trade.out_trade_no, {
                "source": "refund", "out_refund_no": out_refund_no,
                "bill_fen": -trade.refund_fen, "ledger_fen": posted_refunds.get(out_refund_no),
            }))
    return found


def _post_fees(bill_date, bill, known_trades, our_refunds):
    """Book the day's fees on this mall's own trades (the rows of trades it does not know
    are flagged above, not booked): charged on payments, returned on refunds."""
    ours = [
        t for t in bill
        if (t.state == "SUCCESS" and t.out_trade_no in known_trades)
        or (t.state == "REFUND" and t.out_refund_no in our_refunds)
    ]
    totals = {
        "trades": len(ours),
        "paid_fen": sum(t.amount_fen for t in ours if t.state == "SUCCESS"),
        "refunded_fen": sum(t.refund_fen for t in ours if t.state == "REFUND"),
        "fee_fen": sum(t.fee_fen for t in ours),
    }
    with transaction.atomic():
        existing = ReconciledBill.objects.select_for_update().filter(bill_date=bill_date).first()
        if existing is None:
            ledger_postings.post_fees(
                ReconciledBill.objects.create(bill_date=bill_date, **totals)
            )
            return []
    if existing.fee_fen == totals["fee_fen"]:
        return []
    return [(MismatchKind.FEES, "", {
        "booked_fee_fen": existing.fee_fen, "bill_fee_fen": totals["fee_fen"],
    })]


def yesterday_in_shanghai() -> dt.date:
    return timezone.now().astimezone(SHANGHAI).date() - dt.timedelta(days=1)


def mismatch_resolve(*, mismatch_id: int) -> ReconciliationMismatch:
    """Mark a difference settled: a person looked at it and put it right outside this
    system (a ledger correction, a word with WeChat). It is never deleted, and a second
    resolve of the same row is refused (409) rather than silently repeated; the face that
    calls this writes who did it to the staff audit log in the same transaction."""
    with transaction.atomic():
        mismatch = ReconciliationMismatch.objects.select_for_update().filter(
            pk=mismatch_id).first()
        if mismatch is None:
            raise MismatchNotFound()
        if mismatch.resolved:
            raise MismatchAlreadyResolved()
        mismatch.resolved = True
        mismatch.save(update_fields=["resolved"])
    return mismatch
