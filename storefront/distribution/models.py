"""Distribution (DESIGN §5, §6): distributors and their recruitment tree, customer bindings,
levels, commission plans, commissions, monthly statements, withdrawals and compliance alerts.

Two relations are kept apart: the recruitment tree (`Distributor.recruiter`, with the
materialised `path` of ancestor ids) and the customer binding (`CustomerBinding`: which
distributor a shopper is attributed to). Money is integer fen, rates basis points; every
money state lives in a status changed only by storefront.distribution.transitions.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.actors import ActorFields
from core.models import StateChange

# The platform's cap on commission tiers: no mall setting or plan can go above it.
PLATFORM_MAX_TIERS = 3
DEFAULT_TIERS = 2

# Invite codes: no 0/O/1/I, so a code read aloud or off a poster is typed right.
INVITE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
INVITE_CODE_LENGTH = 6


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_CODE_LENGTH))


class JoinMode(models.TextChoices):
    OPEN = "open", "Anyone joins on request"
    APPLY = "apply", "Apply and be approved"
    INVITE = "invite", "By invitation only"
    ASSIGNED = "assigned", "Assigned by staff only"


class BindingMode(models.TextChoices):
    PERMANENT = "permanent", "Permanent first touch"
    FIRST_TOUCH_DAYS = "first_touch_days", "First touch, valid N days"
    LAST_TOUCH = "last_touch", "Last touch"


class PayoutRoute(models.TextChoices):
    TRANSFER = "transfer", "Monthly statement, withdrawn to WeChat balance"
    PROFIT_SHARING = "profit_sharing", "Profit sharing per order"


class SettlementMode(models.TextChoices):
    MONTHLY = "monthly", "Monthly statements"
    ON_AVAILABLE = "on_available", "As soon as commission is available"


class DistributionSettings(models.Model):
    """A mall's distribution rules (one row). Plans hold the rates; this holds the rest."""

    enabled = models.BooleanField(default=True)
    join_mode = models.CharField(max_length=10, choices=JoinMode.choices, default=JoinMode.OPEN)
    # Open mode only: a buyer becomes a distributor after a first paid order. Never the
    # only way in: joining never requires a purchase (《禁止传销条例》 art. 7(2)).
    enroll_buyers = models.BooleanField(default=False)
    binding_mode = models.CharField(
        max_length=20, choices=BindingMode.choices, default=BindingMode.FIRST_TOUCH_DAYS
    )
    binding_days = models.PositiveIntegerField(default=30)
    protection_days = models.PositiveIntegerField(default=0)
    bind_new_customers_only = models.BooleanField(default=False)
    # The most an order's commissions may take of what the buyer paid for its goods.
    commission_cap_bp = models.PositiveIntegerField(default=3000)
    # Days after receipt (with no open after-sales case) before commission is available.
    commission_hold_days = models.PositiveIntegerField(default=7)
    # Monthly: a statement per distributor by the 5th of the next month. On available: each
    # time commissions become available they are settled at once into a further statement
    # of the current month (a mall that pays out fast, and the demo of `make run`).
    settlement = models.CharField(max_length=12, choices=SettlementMode.choices,
                                  default=SettlementMode.MONTHLY)
    statement_review_from_fen = models.PositiveIntegerField(default=500_000)
    withhold_income_tax = models.BooleanField(default=False)
    withdrawal_min_fen = models.PositiveIntegerField(default=100)
    withdrawal_fee_bp = models.PositiveIntegerField(default=0)
    withdrawal_fee_min_fen = models.PositiveIntegerField(default=0)
    withdrawal_daily_count = models.PositiveIntegerField(default=3)
    withdrawal_daily_fen = models.PositiveIntegerField(default=2_000_000)
    withdrawal_review_from_fen = models.PositiveIntegerField(default=500_000)
    # A distributor active for fewer days than this has each withdrawal reviewed by staff.
    withdrawal_review_new_days = models.PositiveIntegerField(default=7)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "distribution settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(commission_cap_bp__lte=10_000), name="distribution_cap_at_most_all"
            ),
            models.CheckConstraint(
                condition=Q(withdrawal_fee_bp__lt=10_000), name="distribution_fee_below_all"
            ),
        ]

    @classmethod
    def current(cls) -> DistributionSettings:
        row, _ = cls.objects.get_or_create(pk=1)
        return row


class Level(models.Model):
    """A merchant-defined level (普通 / 白银 / 黄金 / 团长): its rates per tier under a
    level-based plan, and the conditions that promote a distributor to it."""

    name = models.CharField(max_length=20)
    rank = models.PositiveSmallIntegerField(unique=True)  # 0 is where everyone starts
    rates_bp = models.JSONField(default=list)  # [tier 1, tier 2, tier 3]
    # {"monthly_gmv_fen": n, "total_gmv_fen": n, "own_purchases_fen": n,
    #  "direct_recruits": n, "team_sales_fen": n}; empty for the starting level.
    conditions = models.JSONField(default=dict)
    match_all = models.BooleanField(default=True)
    # Re-checked each month: a distributor who no longer meets it drops a level.
    demote_monthly = models.BooleanField(default=False)

    class Meta:
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name


class DistributorStatus(models.TextChoices):
    PENDING = "pending", "Pending approval"
    ACTIVE = "active", "Active"
    FROZEN = "frozen", "Frozen"
    CLEARED = "cleared", "Cleared"


class JoinedVia(models.TextChoices):
    REQUEST = "request", "Joined on request"
    APPLICATION = "application", "Applied"
    INVITATION = "invitation", "Invited"
    STAFF = "staff", "Assigned by staff"
    PURCHASE = "purchase", "Enrolled after a purchase"


class Distributor(models.Model):
    shopper = models.OneToOneField(
        "shoppers.Shopper", on_delete=models.PROTECT, related_name="distributor"
    )
    status = models.CharField(
        max_length=10, choices=DistributorStatus.choices, default=DistributorStatus.PENDING
    )
    invite_code = models.CharField(max_length=8, unique=True, default=new_invite_code)
    level = models.ForeignKey(Level, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    recruiter = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="recruits")
    # "/<root id>/…/<own id>/": the ancestors, nearest last. A leader's team is the range
    # of paths starting with theirs (one index range scan, varchar_pattern_ops).
    path = models.CharField(max_length=2000, blank=True)
    depth = models.PositiveIntegerField(default=0)  # 0 for someone nobody recruited
    joined_via = models.CharField(max_length=12, choices=JoinedVia.choices)
    application_note = models.CharField(max_length=200, blank=True)
    # Attributed sales (paid goods, less refunds), kept by a task after each payment so
    # a team's totals are one index-only range scan.
    sales_fen = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    level_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["path"], name="distribution_path_range",
                         opclasses=["varchar_pattern_ops"], include=["sales_fen"]),
            models.Index(fields=["recruiter", "created_at"], name="distribution_recruits"),
            models.Index(fields=["status", "created_at"], name="distribution_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(recruiter=models.F("id")),
                                   name="distribution_not_own_recruiter"),
        ]

    def __str__(self) -> str:
        return f"{self.invite_code} ({self.shopper})"

    @property
    def ancestor_ids(self) -> list[int]:
        """Nearest first: [recruiter, their recruiter, …]."""
        ids = [int(part) for part in self.path.strip("/").split("/") if part]
        return list(reversed(ids[:-1]))


class DistributorEvent(StateChange):
    distributor = models.ForeignKey(Distributor, on_delete=models.PROTECT, related_name="events")

    class Meta(StateChange.Meta):
        pass


class RecruitmentChange(ActorFields):
    """Append-only: every change of a distributor's recruiter (staff reassignments)."""

    distributor = models.ForeignKey(Distributor, on_delete=models.PROTECT, related_name="+")
    from_recruiter = models.ForeignKey(Distributor, null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="+")
    to_recruiter = models.ForeignKey(Distributor, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class LevelChange(ActorFields):
    """Append-only: every promotion, demotion and staff change of level."""

    distributor = models.ForeignKey(Distributor, on_delete=models.PROTECT,
                                    related_name="level_changes")
    from_level = models.ForeignKey(Level, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    to_level = models.ForeignKey(Level, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class CustomerBinding(models.Model):
    """Which distributor a shopper is attributed to (not the recruitment tree)."""

    shopper = models.OneToOneField("shoppers.Shopper", on_delete=models.PROTECT,
                                   related_name="binding")
    distributor = models.ForeignKey(Distributor, on_delete=models.PROTECT,
                                    related_name="customers")
    bound_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)  # first touch, N days
    protected_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["distributor", "bound_at"])]


class BindingChange(ActorFields):
    """Append-only history of every binding change of a shopper."""

    shopper = models.ForeignKey("shoppers.Shopper", on_delete=models.PROTECT,
                                related_name="+")
    from_distributor = models.ForeignKey(Distributor, null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="+")
    to_distributor = models.ForeignKey(Distributor, null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["shopper", "created_at"])]


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class RateSource(models.TextChoices):
    STATIC = "static", "Static rates per tier"
    LEVELS = "levels", "Rates by the distributor's level"


class CommissionPlan(models.Model):
    """One version of a mall's commission plan; one is active at a time, and an order
    snapshots the version it was paid under (its commissions name it)."""

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=8, choices=PlanStatus.choices,
                              default=PlanStatus.DRAFT)
    name = models.CharField(max_length=60)
    tiers = models.PositiveSmallIntegerField(default=DEFAULT_TIERS)
    rate_source = models.CharField(max_length=8, choices=RateSource.choices,
                                   default=RateSource.STATIC)
    rates_bp = models.JSONField(default=list)  # static: [tier 1, tier 2, tier 3]
    self_purchase = models.BooleanField(default=False)
    # Stage bonuses: [{"monthly_sales_fen": n, "bonus_bp": n}]: once a distributor's sales
    # this month have passed a stage, the highest such stage adds its rate to their tier-1
    # rate for the rest of the month.
    stage_bonuses = models.JSONField(default=list)
    # Team reward (opt-in, a legal risk): {"rate_bp": n, "cap_fen": n, "min_level_rank": n}
    team_reward = models.JSONField(default=dict, blank=True)
    payout_route = models.CharField(max_length=16, choices=PayoutRoute.choices,
                                    default=PayoutRoute.TRANSFER)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"),
                                    name="distribution_one_active_plan"),
            models.CheckConstraint(condition=Q(tiers__gte=1, tiers__lte=PLATFORM_MAX_TIERS),
                                   name="distribution_plan_tiers_capped"),
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.name}"


class OrderAttribution(models.Model):
    """Who an order is attributed to, written when it is paid (DESIGN §6)."""

    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, primary_key=True,
                                 related_name="attribution")
    distributor = models.ForeignKey(Distributor, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="attributed_orders")
    self_purchase = models.BooleanField(default=False)
    plan = models.ForeignKey(CommissionPlan, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    goods_paid_fen = models.PositiveIntegerField(default=0)
    paid_at = models.DateTimeField()
    # What the task that keeps Distributor.sales_fen has added for this order so far (the
    # goods paid less refunds): it adds only the difference, so it may run twice.
    counted_fen = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["distributor", "paid_at"])]


class CommissionKind(models.TextChoices):
    SALE = "sale", "Sale commission"
    TEAM_REWARD = "team_reward", "Team leader reward"


class CommissionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    FROZEN = "frozen", "Frozen"
    AVAILABLE = "available", "Available"
    SETTLED = "settled", "Settled"
    REVERSED = "reversed", "Reversed"


class Commission(models.Model):
    """One commission per order line, tier and kind, with its explanation."""

    # No index holds a column settlement changes (status, statement, settled_at), and the
    # table leaves room in each page (fillfactor 70, migration 0002): a million status
    # changes a month are then HOT updates that write no index at all. The unique
    # (order_line, tier, kind) and the foreign-key indexes serve the lookups.
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT,
                                   related_name="+", db_index=False)
    distributor = models.ForeignKey(Distributor, on_delete=models.PROTECT,
                                    related_name="commissions")
    kind = models.CharField(max_length=12, choices=CommissionKind.choices,
                            default=CommissionKind.SALE)
    tier = models.PositiveSmallIntegerField()  # 1 to 3; 0 for a team leader's reward
    base_fen = models.PositiveIntegerField()
    rate_bp = models.PositiveIntegerField(default=0)
    fixed_fen = models.PositiveIntegerField(default=0)
    amount_fen = models.PositiveIntegerField()
    reversed_fen = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=CommissionStatus.choices,
                              default=CommissionStatus.PENDING)
    plan_version = models.PositiveIntegerField()
    explanation = models.JSONField(default=dict)
    earned_at = models.DateTimeField()  # the order's payment time: its statement month
    created_at = models.DateTimeField(default=timezone.now)
    frozen_at = models.DateTimeField(null=True, blank=True)
    available_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    # What profit sharing paid of it (the plan's per-order route); 0 in the statement route.
    shared_fen = models.PositiveIntegerField(default=0)
    # The statement that settled it (its amount; reversals are settled on their own).
    statement = models.ForeignKey("Statement", null=True, blank=True, db_index=False,
                                  on_delete=models.PROTECT, related_name="commissions")

    class Meta:
        ordering = ["-earned_at", "-id"]
        indexes = [
        ]
        constraints = [
            models.UniqueConstraint(fields=["order_line", "tier", "kind"],
                                    name="distribution_one_commission_per_line_tier"),
            models.CheckConstraint(condition=Q(reversed_fen__lte=models.F("amount_fen")),
                                   name="distribution_reversal_within_amount"),
            models.CheckConstraint(
                condition=Q(kind="sale", tier__gte=1, tier__lte=PLATFORM_MAX_TIERS)
                | Q(kind="team_reward", tier=0),
                name="distribution_commission_tier_capped",
            ),
        ]


class CommissionEvent(StateChange):
    commission = models.ForeignKey(Commission, on_delete=models.PROTECT, related_name="events")

    class Meta(StateChange.Meta):
        pass


class CommissionReversal(models.Model):
    """What a refund took back of a commission (pro rata to the line refunded), in any
    state, after payout too. A statement settles a distributor's commissions and their
    reversals not yet settled (`statement`), so a reversal after payout nets against the
    next earnings. Its ledger entry is `commission_reversal`/<ledger_key> (one per refund,
    a leg per distributor)."""

    commission = models.ForeignKey(Commission, on_delete=models.PROTECT,
                                   related_name="reversals")
    distributor = models.ForeignKey(Distributor, on_delete=models.PROTECT, related_name="+")
    amount_fen = models.PositiveIntegerField()
    ledger_key = models.CharField(max_length=64)  # "case:<after-sales case id>"
    created_at = models.DateTimeField(default=timezone.now)
    statement = models.ForeignKey("Statement", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="reversals")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["ledger_key"], name="distribution_reversal_key")]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0),
                                   name="distribution_reversal_positive"),
        ]


class StatementStatus(models.TextChoices):
    IN_REVIEW = "in_review", "Waiting for finance review"
    HELD = "held", "Held by finance"
    APPROVED = "approved", "Approved, in the withdrawable balance"


class Statement(models.Model):
    """A distributor's statement for a month (its first day, Asia/Shanghai). Usually one a
    month; a mall settling as commissions become available adds more (`sequence` 2, 3…),
    each withholding the month's income tax so far less what the month's earlier ones
    withheld."""

    distributor = models.ForeignKey(Distributor, on_delete=models.PROTECT,
                                    related_name="statements")
    month = models.DateField()
    sequence = models.PositiveSmallIntegerField(default=1)
    gross_fen = models.BigIntegerField()
    tax_fen = models.BigIntegerField(default=0)
    net_fen = models.BigIntegerField()
    entry_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=StatementStatus.choices)
    review_reasons = models.JSONField(default=list)
    hold_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month", "distributor_id"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "month", "sequence"],
                                    name="distribution_statement_sequence"),
            models.CheckConstraint(
                condition=Q(net_fen=models.F("gross_fen") - models.F("tax_fen")),
                name="distribution_statement_adds_up",
            ),
        ]


class StatementEvent(StateChange):
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="events")

    class Meta(StateChange.Meta):
        pass


class WithdrawalStatus(models.TextChoices):
    REVIEWING = "reviewing", "Waiting for review"
    TRANSFERRING = "transferring", "Being transferred"
    SUCCEEDED = "succeeded", "Paid to WeChat balance"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed, returned to the balance"


class Withdrawal(models.Model):
    distributor = models.ForeignKey(Distributor, on_delete=models.PROTECT,
                                    related_name="withdrawals")
    amount_fen = models.PositiveIntegerField()
    fee_fen = models.PositiveIntegerField(default=0)
    net_fen = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=WithdrawalStatus.choices)
    out_bill_no = models.CharField(max_length=32, unique=True)
    openid = models.CharField(max_length=64)
    real_name_given = models.BooleanField(default=False)
    # Kept (encrypted, tenants.secrets) only until the transfer is sent after review.
    real_name_encrypted = models.TextField(blank=True)
    risk_reasons = models.JSONField(default=list)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["distributor", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(net_fen=models.F("amount_fen") - models.F("fee_fen")),
                name="distribution_withdrawal_adds_up",
            ),
        ]


class WithdrawalEvent(StateChange):
    withdrawal = models.ForeignKey(Withdrawal, on_delete=models.PROTECT, related_name="events")

    class Meta(StateChange.Meta):
        pass


class AlertKind(models.TextChoices):
    TREE_DEPTH = "tree_depth", "Recruitment tree too deep"
    RECRUITMENT_BURST = "recruitment_burst", "Burst of recruitments"
    RECRUITMENT_HEAVY = "recruitment_heavy", "Recruitment-heavy rewards"
    SELF_DEALING = "self_dealing", "Buying through one's own downline"
    REFUND_AFTER_PAYOUT = "refund_after_payout", "Refunds after payout"
    PLAN_RISK = "plan_risk", "Plan with a legal risk"


class ComplianceAlert(models.Model):
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    distributor = models.ForeignKey(Distributor, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    summary = models.CharField(max_length=300)
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "distributor", "day"],
                                    name="distribution_one_alert_a_day",
                                    nulls_distinct=False),
        ]
