"""Reads of the payments app: what the query jobs must chase (callbacks can be late or
lost, so every row WeChat has not finished is asked about after a minute)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db.models import Count, Prefetch, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from storefront.orders.models import OrderStatus
from storefront.payments.models import (
    Payment,
    PaymentEvent,
    PaymentStatus,
    ProfitShare,
    ProfitShareKind,
    ProfitShareReturn,
    ProfitShareStatus,
    ReconciledBill,
    ReconciliationMismatch,
    Refund,
    RefundEvent,
    ShareReturnStatus,
    Transfer,
)
from storefront.payments.transitions import TRANSFER_FINAL

SHANGHAI = ZoneInfo("Asia/Shanghai")  # bill days are Shanghai days


def _cutoff(older_than_seconds: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=older_than_seconds)


def payments_awaiting_callback(*, older_than_seconds: int = 60, limit: int = 200):
    return Payment.objects.filter(
        status=PaymentStatus.PENDING, created_at__lte=_cutoff(older_than_seconds)
    ).exclude(prepay_id="", h5_url="", code_url="")[:limit]


def profit_shares_awaiting(*, older_than_seconds: int = 60, limit: int = 200):
    return ProfitShare.objects.filter(
        status__in=[ProfitShareStatus.CREATED, ProfitShareStatus.PROCESSING],
        updated_at__lte=_cutoff(older_than_seconds),
    ).order_by("updated_at")[:limit]


def share_returns_awaiting(*, older_than_seconds: int = 60, limit: int = 200):
    return ProfitShareReturn.objects.filter(
        status__in=[ShareReturnStatus.CREATED, ShareReturnStatus.PROCESSING],
        updated_at__lte=_cutoff(older_than_seconds),
    ).order_by("updated_at")[:limit]


def transfers_awaiting(*, older_than_seconds: int = 60, limit: int = 200):
    return Transfer.objects.exclude(status__in=TRANSFER_FINAL).filter(
        updated_at__lte=_cutoff(older_than_seconds)
    ).order_by("updated_at")[:limit]


def mismatches_open(*, limit: int = 200):
    """Differences staff have not marked resolved, newest first."""
    return ReconciliationMismatch.objects.filter(resolved=False).order_by("-created_at")[:limit]


def payments_for_order(*, order_id: int) -> list[Payment]:
    """Every payment attempt of an order with its history, oldest first (the staff's order
    timeline)."""
    return list(
        Payment.objects.filter(order_id=order_id).order_by("created_at", "id")
        .prefetch_related(Prefetch("events", queryset=PaymentEvent.objects.order_by(
            "created_at", "id")))
    )


def refunds_for_order(*, order_id: int) -> list[Refund]:
    """Every refund of an order's payments (of its after-sales cases, or of a payment
    that came after the order was cancelled) with its history, oldest first."""
    return list(
        Refund.objects.filter(payment__order_id=order_id).order_by("created_at", "id")
        .prefetch_related(Prefetch("events", queryset=RefundEvent.objects.order_by(
            "created_at", "id")))
    )


def refunds_for_case(*, case_id: int) -> list[Refund]:
    """The refund attempts of one after-sales case, oldest first."""
    return list(Refund.objects.filter(after_sales_id=case_id).order_by("created_at", "id"))
# --- The console's finance pages: reconciliation results and payouts ----------------------


def reconciled_bills():
    """The days whose bill was downloaded and reconciled, newest first."""
    return ReconciledBill.objects.order_by("-bill_date")


def mismatch_counts(*, bill_dates: list[dt.date]) -> dict[dt.date, dict[str, int]]:
    """{bill_date: {"open": n, "resolved": n}} for the given days, in one query."""
    rows = (
        ReconciliationMismatch.objects.filter(bill_date__in=bill_dates)
        .values_list("bill_date")
        .annotate(open=Count("id", filter=Q(resolved=False)),
                  resolved=Count("id", filter=Q(resolved=True)))
        .order_by()
    )
    return {day: {"open": n_open, "resolved": n_resolved} for day, n_open, n_resolved in rows}


def payments_by_day(*, bill_dates: list[dt.date]) -> dict[dt.date, dict[str, int]]:
    """{day: {"count": n, "paid_fen": fen}} of this mall's succeeded payments by their
    Asia/Shanghai payment day (a bill day), for the given days, in one query: what the
    mall's own records say beside each bill."""
    if not bill_dates:
        return {}
    start = dt.datetime.combine(min(bill_dates), dt.time.min, tzinfo=SHANGHAI)
    end = dt.datetime.combine(max(bill_dates) + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI)
    rows = (
        Payment.objects.filter(status=PaymentStatus.SUCCEEDED, paid_at__gte=start, paid_at__lt=end)
        .annotate(day=TruncDate("paid_at", tzinfo=SHANGHAI))
        .values_list("day")
        .annotate(n=Count("id"), fen=Sum("amount_fen"))
        .order_by()
    )
    return {day: {"count": n, "paid_fen": fen} for day, n, fen in rows if day in set(bill_dates)}


def mismatch_list(*, resolved: bool | None = None, bill_date: dt.date | None = None,
                  kind: str | None = None):
    """Reconciliation differences, newest first, filtered."""
    mismatches = ReconciliationMismatch.objects.all()
    if resolved is not None:
        mismatches = mismatches.filter(resolved=resolved)
    if bill_date is not None:
        mismatches = mismatches.filter(bill_date=bill_date)
    if kind:
        mismatches = mismatches.filter(kind=kind)
    return mismatches.order_by("-created_at", "-id")


def transfer_list(*, status: str | None = None):
    transfers = Transfer.objects.all()
    if status:
        transfers = transfers.filter(status=status)
    return transfers.order_by("-created_at", "-id")


def profit_share_list(*, status: str | None = None):
    """Profit-sharing orders that send money to receivers (unfreezes move nothing out)."""
    shares = ProfitShare.objects.filter(kind=ProfitShareKind.SHARE).select_related("payment")
    if status:
        shares = shares.filter(status=status)
    return shares.order_by("-created_at", "-id")


def share_return_list(*, status: str | None = None):
    returns = ProfitShareReturn.objects.select_related("share")
    if status:
        returns = returns.filter(status=status)
    return returns.order_by("-created_at", "-id")


# What the shopper sees after WeChat's cashier sends them back ------------------------------

PAYMENT_STATE_PAID = "paid"
PAYMENT_STATE_FAILED = "failed"
PAYMENT_STATE_CLOSED = "closed"
PAYMENT_STATE_PENDING = "pending"


def order_payment_state(*, order) -> str:
    """paid / failed / closed / pending, read from what the callback or the query job has
    recorded (never from the shopper's return from the cashier). One query at most."""
    if order.status == OrderStatus.CANCELLED:
        return PAYMENT_STATE_CLOSED
    if order.status != OrderStatus.PENDING_PAYMENT:
        return PAYMENT_STATE_PAID
    latest = (
        Payment.objects.filter(order_id=order.pk).order_by("-created_at", "-id")
        .values_list("status", flat=True).first()
    )
    if latest == PaymentStatus.FAILED:
        return PAYMENT_STATE_FAILED
    if latest == PaymentStatus.CLOSED:
        return PAYMENT_STATE_CLOSED
    return PAYMENT_STATE_PENDING
