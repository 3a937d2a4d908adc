"""Reads of the payments app: what the query jobs must chase (callbacks can be late or
lost, so every row WeChat has not finished is asked about after a minute)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch
from django.utils import timezone

from storefront.payments.models import (
    Payment,
    PaymentEvent,
    PaymentStatus,
    ProfitShare,
    ProfitShareReturn,
    ProfitShareStatus,
    ReconciliationMismatch,
    Refund,
    RefundEvent,
    ShareReturnStatus,
    Transfer,
)
from storefront.payments.transitions import TRANSFER_FINAL


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
