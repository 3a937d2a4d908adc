"""What the billing page and the platform admin read about subscriptions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from django.utils import timezone

from billing.models import (
    LIVE_SUBSCRIPTION_STATUSES,
    BillingAccount,
    BillingInterval,
    Invoice,
    Plan,
    PlanChange,
    PlanChangeStatus,
)


@dataclass(frozen=True)
class NextInvoice:
    on: dt.datetime
    amount_fen: int


@dataclass(frozen=True)
class BillingOverview:
    account: BillingAccount | None
    plans: list[Plan]
    invoices: list[Invoice]
    pending_change: PlanChange | None
    last_failed_change: PlanChange | None
    trial_days_left: int | None
    next_invoice: NextInvoice | None

    @property
    def subscribed(self) -> bool:
        return bool(self.account and self.account.has_live_subscription)


def billing_overview(merchant, *, invoices: int = 12) -> BillingOverview:
    account = BillingAccount.objects.filter(merchant=merchant).first()
    trial_days_left = None
    if merchant.status == "trial" and merchant.trial_ends_at:
        left = merchant.trial_ends_at - timezone.now()
        trial_days_left = max(0, left.days + (1 if left.seconds else 0))
    next_invoice = None
    if account and account.has_live_subscription and account.current_period_end and not (
        account.cancel_at_period_end
    ):
        next_invoice = NextInvoice(
            on=account.current_period_end,
            amount_fen=merchant.plan.price_fen(account.interval or BillingInterval.MONTH),
        )
    changes = PlanChange.objects.filter(merchant=merchant).select_related("plan")
    return BillingOverview(
        account=account,
        plans=list(Plan.objects.all()),
        invoices=list(Invoice.objects.filter(merchant=merchant)[:invoices]),
        pending_change=changes.filter(status=PlanChangeStatus.PENDING).first(),
        last_failed_change=changes.filter(status=PlanChangeStatus.FAILED).first(),
        trial_days_left=trial_days_left,
        next_invoice=next_invoice,
    )


@dataclass(frozen=True)
class PlatformBillingFigures:
    mrr_fen: int
    subscribers_by_plan: dict[str, int]
    statuses: dict[str, int]
    trials_open: int
    trials_converted_30d: int
    trials_ended_30d: int
    churned_30d: int
    active_at_start_30d: int
    failed_invoices_open: int

    @property
    def trial_conversion_rate(self) -> float | None:
        return (self.trials_converted_30d / self.trials_ended_30d
                if self.trials_ended_30d else None)

    @property
    def churn_rate(self) -> float | None:
        return self.churned_30d / self.active_at_start_30d if self.active_at_start_30d else None


def platform_billing_figures(now: dt.datetime | None = None) -> PlatformBillingFigures:
    """Monthly recurring revenue (a yearly price counts a twelfth), subscribers per plan,
    malls per status, trials converting and churn over the last 30 days."""
    from tenants.models import Merchant, MerchantStatusChange

    now = now or timezone.now()
    since = now - dt.timedelta(days=30)
    live = BillingAccount.objects.filter(
        subscription_status__in=LIVE_SUBSCRIPTION_STATUSES - {"unpaid"}
    ).select_related("merchant__plan")
    mrr = 0
    by_plan: dict[str, int] = {}
    for account in live:
        plan = account.merchant.plan
        if account.interval == BillingInterval.YEAR:
            mrr += plan.yearly_price_fen // 12
        else:
            mrr += plan.monthly_price_fen
        by_plan[plan.name] = by_plan.get(plan.name, 0) + 1
    statuses = dict(Merchant.objects.values_list("status").annotate(n=Count("id")))
    moves = MerchantStatusChange.objects.filter(created_at__gte=since)
    converted = moves.filter(from_status="trial", to_status="active").count()
    trials_ended = moves.filter(from_status="trial").exclude(to_status="trial").count()
    churned = moves.filter(to_status="closed").count()
    active_before = Merchant.objects.filter(
        Q(created_at__lt=since) & ~Q(status="trial")
    ).count()
    failed = Invoice.objects.filter(status="open", attempt_count__gt=0).aggregate(
        n=Count("id"), fen=Sum("amount_due_fen"))["n"]
    return PlatformBillingFigures(
        mrr_fen=mrr, subscribers_by_plan=by_plan, statuses=statuses,
        trials_open=statuses.get("trial", 0), trials_converted_30d=converted,
        trials_ended_30d=trials_ended, churned_30d=churned,
        active_at_start_30d=active_before, failed_invoices_open=failed or 0,
    )
