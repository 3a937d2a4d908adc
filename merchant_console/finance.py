"""What the finance pages and their staff API share: the period staff choose, the account
labels, the payout kinds and their filters, and the accountant's export (CSV and XLSX).

Reads only: the figures come from the ledger's and the money apps' selectors, so what the
console shows is what the ledger says. Periods are Asia/Shanghai calendar days, the
business dates of the mall."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from storefront.distribution.models import WithdrawalStatus
from storefront.distribution.selectors import withdrawal_list
from storefront.ledger.models import AccountCode
from storefront.ledger.selectors import AccountPeriod, account_period_balances, journal_legs
from storefront.payments.models import ProfitShareStatus, ShareReturnStatus, TransferStatus
from storefront.payments.selectors import profit_share_list, share_return_list, transfer_list

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_PERIOD_DAYS = 366  # a year and a day: the longest period one page or export covers

ACCOUNT_LABELS = {
    AccountCode.WECHAT_CLEARING: _("WeChat Pay clearing"),
    AccountCode.SALES_REVENUE: _("Sales revenue"),
    AccountCode.REFUNDS: _("Refunds"),
    AccountCode.WECHAT_FEES: _("WeChat Pay fees"),
    AccountCode.UNAPPLIED_RECEIPTS: _("Unapplied receipts"),
    AccountCode.COMMISSION_EXPENSE: _("Commission expense"),
    AccountCode.DISTRIBUTOR_PAYABLE: _("Commission payable to distributor"),
    AccountCode.PARTNER_PAYABLE: _("Payable to profit-sharing receiver"),
    AccountCode.DISTRIBUTOR_WITHDRAWABLE: _("Distributor withdrawable balance"),
    AccountCode.TAX_WITHHELD: _("Tax withheld"),
    AccountCode.WITHDRAWAL_FEES: _("Withdrawal fees"),
}


def account_label(code: str) -> str:
    return str(ACCOUNT_LABELS.get(code, code))


def yuan(fen: int) -> Decimal:
    """Fen as yuan with exactly two decimals, for the accountant's files."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def today_in_shanghai() -> dt.date:
    return timezone.now().astimezone(SHANGHAI).date()


@dataclass(frozen=True)
class Period:
    """Calendar days [first, last] in Shanghai, and the instants [start, end) they span."""

    first: dt.date
    last: dt.date

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time.min, tzinfo=SHANGHAI)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time.min,
                                   tzinfo=SHANGHAI)

    def query(self) -> str:
        return f"start={self.first.isoformat()}&end={self.last.isoformat()}"


def this_month() -> Period:
    today = today_in_shanghai()
    return Period(today.replace(day=1), today)


class PeriodForm(forms.Form):
    """The period of a finance page or export: both days inclusive, this month by
    default."""

    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        first, last = data.get("start"), data.get("end")
        if first is None or last is None:
            return data
        if last < first:
            raise forms.ValidationError(_("The period ends before it starts."))
        if (last - first).days >= MAX_PERIOD_DAYS:
            raise forms.ValidationError(
                _("Choose a period of at most %(days)s days.") % {"days": MAX_PERIOD_DAYS})
        data["period"] = Period(first, last)
        return data


def period_from(params) -> tuple[PeriodForm, Period | None]:
    """The form bound to a request's query (a day left out: this month's) and its period,
    or None when the query is not valid (the form then carries the errors)."""
    default = this_month()
    form = PeriodForm({"start": params.get("start") or default.first.isoformat(),
                       "end": params.get("end") or default.last.isoformat()})
    if form.is_valid():
        return form, form.cleaned_data["period"]
    return form, None


@dataclass(frozen=True)
class BalanceSheet:
    rows: list[AccountPeriod]
    opening_fen: int
    debit_fen: int
    credit_fen: int
    closing_fen: int


def balance_sheet(period: Period) -> BalanceSheet:
    """Every account over the period and the column totals (each total of balances is 0
    in a balanced ledger, and the period's debits equal its credits)."""
    rows = account_period_balances(start=period.start, end=period.end)
    return BalanceSheet(
        rows=rows,
        opening_fen=sum(r.opening_fen for r in rows),
        debit_fen=sum(r.debit_fen for r in rows),
        credit_fen=sum(r.credit_fen for r in rows),
        closing_fen=sum(r.closing_fen for r in rows),
    )


# --- Payouts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PayoutKind:
    key: str
    label: str
    statuses: list
    list_fn: object  # (status=) -> queryset
    amount_field: str = "amount_fen"


PAYOUT_KINDS = {
    "withdrawals": PayoutKind("withdrawals", _("Withdrawals"), WithdrawalStatus.choices,
                              lambda status: withdrawal_list(status=status).select_related(
                                  "distributor__shopper")),
    "transfers": PayoutKind("transfers", _("Transfers to WeChat balance"),
                            TransferStatus.choices, lambda status: transfer_list(status=status)),
    "shares": PayoutKind("shares", _("Profit shares"), ProfitShareStatus.choices,
                         lambda status: profit_share_list(status=status)),
    "returns": PayoutKind("returns", _("Profit-share returns"), ShareReturnStatus.choices,
                          lambda status: share_return_list(status=status)),
}


def payouts(*, kind: PayoutKind, status: str | None, period: Period):
    """(rows of the kind created in the period, filtered by status; totals per status of
    the period as [(status, label, count, fen)], with the status filter not applied so
    staff see every state's share)."""
    rows = kind.list_fn(status or None).filter(created_at__gte=period.start,
                                               created_at__lt=period.end)
    figures = {
        value: (n, fen) for value, n, fen in
        kind.list_fn(None).filter(created_at__gte=period.start, created_at__lt=period.end)
        .order_by().values_list("status").annotate(n=Count("id"), fen=Sum(kind.amount_field))
    }
    totals = [(value, label, *figures.get(value, (0, 0))) for value, label in kind.statuses]
    return rows, totals


# --- The accountant's export ---------------------------------------------------------------

JOURNAL_HEADERS = ["Entry", "Posted at (Asia/Shanghai)", "Source", "Source key", "Order id",
                   "Memo", "Account", "Account name", "Party", "Debit (CNY)", "Credit (CNY)"]
BALANCE_HEADERS = ["Account", "Account name", "Party", "Opening (CNY)", "Debits (CNY)",
                   "Credits (CNY)", "Closing (CNY)"]


def journal_rows_total(period: Period) -> int:
    """The journal rows an export of the period writes (one per leg)."""
    return journal_legs(start=period.start, end=period.end).count()


def _journal_rows(period: Period, on_row: Callable[[], None] | None = None):
    for leg in journal_legs(start=period.start, end=period.end).iterator(chunk_size=2000):
        entry = leg.entry
        yield [
            entry.pk, entry.posted_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
            entry.source, entry.source_key, entry.order_id or "", entry.memo,
            leg.account.code, account_label(leg.account.code), leg.account.party,
            yuan(leg.amount_fen) if leg.amount_fen > 0 else None,
            yuan(-leg.amount_fen) if leg.amount_fen < 0 else None,
        ]
        if on_row is not None:
            on_row()


def _balance_rows(sheet: BalanceSheet):
    for row in sheet.rows:
        yield [row.code, account_label(row.code), row.party, yuan(row.opening_fen),
               yuan(row.debit_fen), yuan(-row.credit_fen), yuan(row.closing_fen)]
    yield ["", "Total", "", yuan(sheet.opening_fen), yuan(sheet.debit_fen),
           yuan(-sheet.credit_fen), yuan(sheet.closing_fen)]


class _Line:
    """A file-like object csv.writer writes one line into, handed straight back."""

    def write(self, value: str) -> str:
        return value


def _csv_cell(value):
    if value is None:
        return ""
    return f"{value:.2f}" if isinstance(value, Decimal) else value


def journal_csv(period: Period, on_row: Callable[[], None] | None = None) -> Iterator[bytes]:
    """The period's journal, one row per leg, then a blank row and the account balances,
    streamed line by line (constant memory however long the period). UTF-8 with a
    byte-order mark, so Excel opens the Chinese names correctly."""
    writer = csv.writer(_Line())
    yield "\ufeff".encode()
    yield writer.writerow(JOURNAL_HEADERS).encode()
    for row in _journal_rows(period, on_row):
        yield writer.writerow([_csv_cell(v) for v in row]).encode()
    yield writer.writerow([]).encode()
    yield writer.writerow(BALANCE_HEADERS).encode()
    for row in _balance_rows(balance_sheet(period)):
        yield writer.writerow([_csv_cell(v) for v in row]).encode()


def journal_xlsx(period: Period, on_row: Callable[[], None] | None = None) -> Iterator[bytes]:
    """Two sheets: "Journal" (entries with their legs) and "Balances" (per account over the
    period). Amounts are numbers in yuan formatted with two decimals. Written in openpyxl's
    write-only mode, which keeps rows on disk rather than in memory."""
    book = Workbook(write_only=True)
    for title, headers, rows, money_from in (
        ("Journal", JOURNAL_HEADERS, _journal_rows(period, on_row), 9),
        ("Balances", BALANCE_HEADERS, _balance_rows(balance_sheet(period)), 3),
    ):
        sheet = book.create_sheet(title)
        sheet.freeze_panes = "A2"
        header = []
        for name in headers:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = Font(bold=True)
            header.append(cell)
        sheet.append(header)
        for row in rows:
            cells = []
            for index, value in enumerate(row):
                cell = WriteOnlyCell(sheet, value=value)
                if index >= money_from:
                    cell.number_format = "#,##0.00"
                cells.append(cell)
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    yield out.getvalue()


EXPORT_FORMATS = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", journal_xlsx),
    "csv": ("text/csv; charset=utf-8", journal_csv),
}


def export_name(period: Period, fmt: str) -> str:
    return f"journal-{period.first:%Y%m%d}-{period.last:%Y%m%d}.{fmt}"


def journal_export_start(*, user, period: Period, fmt: str):
    """Record an export job of the period's journal (its task writes the file) and the
    audit row saying who took which period, in one transaction."""
    from merchant_console import exports  # exports writes with this module's rows
    from merchant_console.audit import audit_record

    with transaction.atomic():
        job = exports.export_request(user=user, kind="finance", file_format=fmt,
                                     parameters={"start": period.first.isoformat(),
                                                 "end": period.last.isoformat()})
        audit_record(actor=user, area="finance", action="journal.export", target=str(job.pk),
                     detail={"start": period.first, "end": period.last, "format": fmt})
    return job
