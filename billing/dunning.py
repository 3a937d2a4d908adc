"""The clock side of billing, run by beat every few minutes in the public schema: a mall
past due for longer than the grace period is suspended, a trial that ended without a
subscription becomes past due, and owners are reminded before their trial ends. Each step
is a transition through the merchant's one service, safe to run twice."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import LIVE_SUBSCRIPTION_STATUSES, BillingAccount
from core import outbox
from core.actors import Actor
from tenants import services as tenant_services
from tenants.errors import IllegalStatusTransition
from tenants.models import Merchant, MerchantStatus

logger = logging.getLogger(__name__)


@dataclass
class SweepResult:
    suspended: list[str]
    trials_ended: list[str]
    reminded: list[str]


def _without_live_subscription():
    live = BillingAccount.objects.filter(subscription_status__in=LIVE_SUBSCRIPTION_STATUSES)
    return ~Q(pk__in=live.values("merchant_id"))


def _move(merchant: Merchant, to_status: str, reason: str, expected: str) -> bool:
    try:
        tenant_services.merchant_change_status(
            merchant=merchant, to_status=to_status, actor=Actor.system(), reason=reason,
            expected_from=frozenset({expected}),
        )
    except IllegalStatusTransition:  # a webhook moved it meanwhile: its decision stands
        return False
    return True


def dunning_sweep(now: dt.datetime | None = None) -> SweepResult:
    connection.set_schema_to_public()
    now = now or timezone.now()
    grace = dt.timedelta(days=settings.BILLING_GRACE_DAYS)
    result = SweepResult([], [], [])

    overdue = Merchant.objects.filter(
        status=MerchantStatus.PAST_DUE, status_changed_at__lte=now - grace
    )
    for merchant in overdue:
        if _move(merchant, MerchantStatus.SUSPENDED,
                 f"past due for {settings.BILLING_GRACE_DAYS} days", MerchantStatus.PAST_DUE):
            result.suspended.append(merchant.slug)

    ended = Merchant.objects.filter(
        _without_live_subscription(), status=MerchantStatus.TRIAL, trial_ends_at__lte=now
    )
    for merchant in ended:
        if _move(merchant, MerchantStatus.PAST_DUE, "trial ended without a subscription",
                 MerchantStatus.TRIAL):
            result.trials_ended.append(merchant.slug)

    reminder = dt.timedelta(days=settings.BILLING_TRIAL_REMINDER_DAYS)
    ending = Merchant.objects.filter(
        _without_live_subscription(), status=MerchantStatus.TRIAL,
        trial_ends_at__gt=now, trial_ends_at__lte=now + reminder,
    ).exclude(billing_account__trial_reminder_sent_at__isnull=False)
    for merchant in ending:
        with transaction.atomic():
            account, _ = BillingAccount.objects.get_or_create(merchant=merchant)
            claimed = BillingAccount.objects.filter(
                pk=account.pk, trial_reminder_sent_at__isnull=True
            ).update(trial_reminder_sent_at=now)
            if claimed:
                outbox.enqueue("billing.tasks.send_billing_email",
                               kwargs={"kind": "trial_ending", "merchant_id": merchant.pk})
                result.reminded.append(merchant.slug)
    if result.suspended or result.trials_ended or result.reminded:
        logger.info("dunning: %s", result)
    return result
