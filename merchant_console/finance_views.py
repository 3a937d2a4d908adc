"""Console → Finance: the ledger by account and period, the T+1 reconciliation results and
their differences, the payouts, and the accountant's export. Staff with
merchant_console.view_finance (owner, admin, finance) read them; marking a difference
resolved asks for payments.change_reconciliationmismatch and is audited."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from merchant_console.access import staff_page
from merchant_console.audit import audit_record
from merchant_console.finance import (
    EXPORT_FORMATS,
    PAYOUT_KINDS,
    account_label,
    balance_sheet,
    journal_export_start,
    payouts,
    period_from,
)
from storefront.ledger.selectors import (
    account_get,
    account_legs,
    account_opening,
    check_run_latest,
)
from storefront.payments.models import MismatchKind
from storefront.payments.reconciliation import mismatch_resolve
from storefront.payments.selectors import (
    mismatch_counts,
    mismatch_list,
    payments_by_day,
    reconciled_bills,
)

VIEW_FINANCE = "merchant_console.view_finance"
RESOLVE_MISMATCH = "payments.change_reconciliationmismatch"
BALANCES_PER_PAGE = 100
LEGS_PER_PAGE = 50
BILLS_PER_PAGE = 31
ROWS_PER_PAGE = 50


def _page(request, items, per_page: int, name: str = "page"):
    return Paginator(items, per_page).get_page(request.GET.get(name))


@staff_page(VIEW_FINANCE)
def ledger(request):
    """Balances of every account over a period, the totals (zero in a balanced ledger) and
    the last nightly check."""
    form, period = period_from(request.GET)
    context = {"form": form, "tab": "ledger", "check": check_run_latest()}
    if period is None:
        return render(request, "console/finance.html", context, status=400)
    sheet = balance_sheet(period)
    page = _page(request, sheet.rows, BALANCES_PER_PAGE)
    context.update(sheet=sheet, page=page, period=period,
                   rows=[(row, account_label(row.code)) for row in page])
    return render(request, "console/finance.html", context)


@staff_page(VIEW_FINANCE)
def account(request, account_id: int):
    """One account's legs over the period, with its opening and running balance."""
    try:
        found = account_get(account_id=account_id)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    form, period = period_from(request.GET)
    context = {"form": form, "account": found, "label": account_label(found.code),
               "tab": "ledger"}
    if period is None:
        return render(request, "console/finance_account.html", context, status=400)
    opening = account_opening(account_id=found.pk, start=period.start)
    page = _page(request, account_legs(account_id=found.pk, start=period.start,
                                       end=period.end), LEGS_PER_PAGE)
    context.update(period=period, page=page, opening=opening,
                   legs=[(leg, opening + leg.running_fen) for leg in page])
    return render(request, "console/finance_account.html", context)


def _mismatch_filters(params) -> dict:
    state = params.get("state") or "open"
    if state not in ("open", "resolved", "all"):
        state = "open"
    kind = params.get("kind") or ""
    if kind not in MismatchKind.values:
        kind = ""
    try:
        day = dt.date.fromisoformat(params.get("date") or "")
    except ValueError:
        day = None
    return {"state": state, "kind": kind, "date": day}


def mismatches_filtered(filters: dict):
    return mismatch_list(
        resolved={"open": False, "resolved": True}.get(filters["state"]),
        bill_date=filters["date"], kind=filters["kind"] or None,
    )


def reconciliation_days(bills) -> list[dict]:
    """Each reconciled day beside what the mall's own records say, and its differences."""
    dates = [bill.bill_date for bill in bills]
    counts = mismatch_counts(bill_dates=dates)
    ours = payments_by_day(bill_dates=dates)
    days = []
    for bill in bills:
        own = ours.get(bill.bill_date, {"count": 0, "paid_fen": 0})
        found = counts.get(bill.bill_date, {"open": 0, "resolved": 0})
        days.append({"bill": bill, "our_count": own["count"], "our_paid_fen": own["paid_fen"],
                     "difference_fen": bill.paid_fen - own["paid_fen"], **found})
    return days


@staff_page(VIEW_FINANCE)
def reconciliation(request):
    """The days reconciled against WeChat's bill, and the differences found."""
    filters = _mismatch_filters(request.GET)
    bills = _page(request, reconciled_bills(), BILLS_PER_PAGE, "days")
    mismatches = _page(request, mismatches_filtered(filters), ROWS_PER_PAGE)
    return render(request, "console/finance_reconciliation.html", {
        "tab": "reconciliation", "days": reconciliation_days(list(bills)), "bills": bills,
        "mismatches": mismatches, "filters": filters, "kinds": MismatchKind.choices,
        "can_resolve": request.user.has_perm(RESOLVE_MISMATCH),
        "mismatch_query": urlencode({"state": filters["state"], "kind": filters["kind"],
                                     "date": filters["date"] or ""}),
    })


@require_POST
@staff_page(RESOLVE_MISMATCH)
def mismatch_resolve_page(request, mismatch_id: int):
    note = (request.POST.get("note") or "").strip()[:200]
    try:
        with transaction.atomic():
            mismatch = mismatch_resolve(mismatch_id=mismatch_id)
            audit_record(actor=request.user, area="finance", action="mismatch.resolve",
                         target=str(mismatch.pk),
                         detail={"kind": mismatch.kind, "out_trade_no": mismatch.out_trade_no,
                                 "bill_date": mismatch.bill_date, "note": note})
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The difference is marked resolved."))
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("console:finance-reconciliation")
    return redirect(back)


@staff_page(VIEW_FINANCE)
def payouts_page(request):
    """Withdrawals, transfers, profit shares and their returns, by state, over a period."""
    kind = PAYOUT_KINDS.get(request.GET.get("kind") or "withdrawals", PAYOUT_KINDS["withdrawals"])
    status = request.GET.get("status") or ""
    if status not in dict(kind.statuses):
        status = ""
    form, period = period_from(request.GET)
    context = {"tab": "payouts", "kind": kind, "kinds": PAYOUT_KINDS.values(),
               "status": status, "form": form}
    if period is None:
        return render(request, "console/finance_payouts.html", context, status=400)
    rows, totals = payouts(kind=kind, status=status, period=period)
    context.update(period=period, page=_page(request, rows, ROWS_PER_PAGE), totals=totals,
                   page_query=f"kind={kind.key}&status={status}&{period.query()}",
                   total_count=sum(t[2] for t in totals), total_fen=sum(t[3] for t in totals))
    return render(request, "console/finance_payouts.html", context)


@require_POST
@staff_page(VIEW_FINANCE)
def export(request):
    """Start an export job of the journal of a period (in the query string) as XLSX or
    CSV, for the accountant, and show its page. Exporting the books is itself recorded in
    the audit log (who took which period) when it is asked for."""
    fmt = request.POST.get("format") or "xlsx"
    form, period = period_from(request.GET)
    if fmt not in EXPORT_FORMATS or period is None:
        if fmt not in EXPORT_FORMATS:
            form.add_error(None, _("Choose XLSX or CSV."))
        return render(request, "console/finance.html",
                      {"form": form, "tab": "ledger", "check": check_run_latest()}, status=400)
    job = journal_export_start(user=request.user, period=period, fmt=fmt)
    return redirect("console:export", job_id=job.pk)
