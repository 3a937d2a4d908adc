"""Reads of the payments app: what the query jobs must chase (callbacks can be late or
lost, so every row WeChat has not finished is asked about after a minute)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from storefront.payments.models import (
    Payment,
    PaymentStatus,
    ProfitShare,
    ProfitShareReturn,
    ProfitShareStatus,
    ReconciliationMismatch,
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
