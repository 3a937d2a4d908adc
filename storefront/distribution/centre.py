"""Read queries of the distributor centre (DESIGN §6): what a shopper sees of their own
place in the programme — status, balances, level progress, team, commissions, withdrawals
and what a sale would earn them. The shopper's pages and API call these; nothing here
writes.

Privacy: what a distributor sees of other people is a masked nickname, an invite code and
sales figures; never a phone number, an openid or an address, and a customer's order number
only masked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.http import urlencode

from storefront.distribution import binding, commissions, levels, plans, tree
from storefront.distribution.errors import (
    DistributionInvalid,
    DistributionNotFound,
    DistributorNotActive,
    PlanInvalid,
)
from storefront.distribution.models import (
    Commission,
    CommissionPlan,
    CommissionStatus,
    DistributionSettings,
    Distributor,
    DistributorStatus,
    Level,
    Withdrawal,
    WithdrawalStatus,
)
from storefront.distribution.withdrawals import withdrawable_fen
from storefront.payments.models import Transfer, TransferStatus
from storefront.payments.transfers import REAL_NAME_FROM_FEN

# The calculator's bounds: a SKU's price cap (¥999,999.99) and a line's quantity cap.
PREVIEW_MAX_PRICE_FEN = 99_999_999
PREVIEW_MAX_QUANTITY = 999
# The figures a level's conditions may name (Level.conditions), in display order.
FIGURE_KEYS = ("monthly_gmv_fen", "total_gmv_fen", "own_purchases_fen", "direct_recruits",
               "team_sales_fen")


# ---------------------------------------------------------------- who


def distributor_for_shopper(*, shopper_id: int) -> Distributor | None:
    """The shopper's distributor row, whatever its status, or None."""
    return (Distributor.objects.select_related("level", "shopper")
            .filter(shopper_id=shopper_id).first())


def distributor_get_for_shopper(*, shopper_id: int) -> Distributor:
    """The shopper's own distributor row; 404 when they never joined (or were cleared)."""
    distributor = distributor_for_shopper(shopper_id=shopper_id)
    if distributor is None or distributor.status == DistributorStatus.CLEARED:
        raise DistributionNotFound("You are not a distributor of this mall.")
    return distributor


def distributor_active_by_share_code(share_code: str) -> Distributor | None:
    """The active distributor whose shopper shares links with `share_code` (one query):
    what a visit through `?ref=` is bound to."""
    code = (share_code or "").strip()
    if not code or len(code) > 16:
        return None
    return (Distributor.objects.select_related("shopper")
            .filter(shopper__share_code=code, shopper__is_active=True,
                    status=DistributorStatus.ACTIVE).first())


def suggested_invite_code(*, shopper_id: int, remembered: str = "") -> str:
    """The invite code a join form starts with: the one the shopper's link carried, else
    their bound distributor's (so the one who brought them recruits them). Only a code of
    an active distributor other than the shopper; empty when there is none."""
    candidate = (remembered or "").strip().upper()
    if candidate and len(candidate) <= 8:
        found = (Distributor.objects.filter(invite_code=candidate,
                                            status=DistributorStatus.ACTIVE)
                 .exclude(shopper_id=shopper_id).values_list("invite_code", flat=True).first())
        if found:
            return found
    bound = binding.bound_distributor(shopper_id)
    if bound is not None and bound.shopper_id != shopper_id:
        return bound.invite_code
    return ""


@dataclass(frozen=True)
class JoinRules:
    enabled: bool
    join_mode: str
    needs_invite: bool
    staff_only: bool
    needs_approval: bool


def join_rules() -> JoinRules:
    """How this mall takes distributors, for the join page's wording."""
    rules = DistributionSettings.current()
    return JoinRules(
        enabled=rules.enabled, join_mode=rules.join_mode,
        needs_invite=rules.join_mode == "invite", staff_only=rules.join_mode == "assigned",
        needs_approval=rules.join_mode == "apply",
    )


# ---------------------------------------------------------------- balances


@dataclass(frozen=True)
class Balances:
    """What a distributor has earned, by commission state, net of reversals (fen), and
    what they may withdraw now (the ledger's withdrawable balance; it can be negative after
    a refund following a payout)."""

    pending_fen: int
    frozen_fen: int
    available_fen: int
    settled_fen: int
    withdrawable_fen: int

    @property
    def earned_fen(self) -> int:
        return self.pending_fen + self.frozen_fen + self.available_fen + self.settled_fen


def balances(*, distributor_id: int) -> Balances:
    """One aggregate over the distributor's commissions and one ledger sum."""
    kept = F("amount_fen") - F("reversed_fen")
    sums = Commission.objects.filter(distributor_id=distributor_id).aggregate(**{
        state: Sum(kept, filter=Q(status=state), default=0)
        for state in (CommissionStatus.PENDING, CommissionStatus.FROZEN,
                      CommissionStatus.AVAILABLE, CommissionStatus.SETTLED)
    })
    return Balances(
        pending_fen=sums["pending"], frozen_fen=sums["frozen"],
        available_fen=sums["available"], settled_fen=sums["settled"],
        withdrawable_fen=withdrawable_fen(distributor_id),
    )


# ---------------------------------------------------------------- level progress


@dataclass(frozen=True)
class ConditionProgress:
    key: str
    required: int
    current: int

    @property
    def met(self) -> bool:
        return self.current >= self.required

    @property
    def percent(self) -> int:
        if self.required <= 0:
            return 100
        return min(100, self.current * 100 // self.required)

    @property
    def money(self) -> bool:
        return self.key.endswith("_fen")


@dataclass(frozen=True)
class LevelProgress:
    level: Level | None
    next_level: Level | None
    conditions: list[ConditionProgress] = field(default_factory=list)
    match_all: bool = True

    @property
    def ready(self) -> bool:
        """Every condition (or, for a level promoted on any one, at least one) is met."""
        if self.next_level is None or not self.conditions:
            return False
        met = [condition.met for condition in self.conditions]
        return all(met) if self.match_all else any(met)


def level_progress(*, distributor: Distributor, now: dt.datetime | None = None) -> LevelProgress:
    """The distributor's level, the next one up that has conditions, and how far the
    distributor is on each."""
    current = distributor.level
    rank = current.rank if current else -1
    # A level without conditions is a starting level, not one to be promoted to.
    upcoming = (Level.objects.filter(rank__gt=rank).exclude(conditions={})
                .order_by("rank").first())
    if upcoming is None:
        return LevelProgress(level=current, next_level=None)
    wanted = {key: value for key, value in (upcoming.conditions or {}).items()
              if key in FIGURE_KEYS and isinstance(value, int) and not isinstance(value, bool)}
    # The figures promotion itself compares (storefront.distribution.levels), so the
    # progress shown is the progress that counts.
    figures = levels.distributor_figures(distributor, levels.current_month(now))
    conditions = [ConditionProgress(key=key, required=wanted[key],
                                    current=getattr(figures, key))
                  for key in FIGURE_KEYS if key in wanted]
    return LevelProgress(level=current, next_level=upcoming, conditions=conditions,
                         match_all=upcoming.match_all)


# ---------------------------------------------------------------- team


def mask_nickname(name: str) -> str:
    """"张小明" → "张*明", "Li" → "L*", "" stays empty (the face shows a placeholder)."""
    name = (name or "").strip()
    if not name:
        return ""
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * min(len(name) - 2, 4) + name[-1]


def mask_order_number(number: str) -> str:
    """An order number with its middle hidden: enough to tell orders apart, not to look
    one up."""
    if len(number) <= 8:
        return number[:2] + "*" * max(len(number) - 2, 0)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


@dataclass(frozen=True)
class TeamOverview:
    members: int
    direct: int
    sales_fen: int
    per_depth: list[tuple[int, int]]  # (depth below the leader: 1 direct, 2…, members)


def team_overview(*, distributor: Distributor) -> TeamOverview:
    """The team's totals (tree.team_totals) and the head count at each depth below."""
    totals = tree.team_totals(distributor)
    rows = (Distributor.objects.filter(path__startswith=distributor.path)
            .exclude(pk=distributor.pk).values("depth").annotate(n=Count("id"))
            .order_by("depth"))
    per_depth = [(row["depth"] - distributor.depth, row["n"]) for row in rows]
    return TeamOverview(members=totals.members, direct=totals.direct,
                        sales_fen=totals.sales_fen, per_depth=per_depth)


@dataclass(frozen=True)
class TeamMember:
    name: str  # masked nickname ("" when they have none)
    invite_code: str
    depth: int  # 1 for a direct recruit
    status: str
    sales_fen: int
    joined_at: dt.datetime


def team_members(*, distributor: Distributor, depth: int | None = None) -> QuerySet:
    """The members below `distributor` (all, or those `depth` levels down), newest first,
    with only the columns the centre may show."""
    members = (Distributor.objects.filter(path__startswith=distributor.path)
               .exclude(pk=distributor.pk)
               .only("id", "invite_code", "depth", "status", "sales_fen", "created_at",
                     "shopper__nickname")
               .select_related("shopper").order_by("depth", "-created_at", "-id"))
    if depth is not None:
        members = members.filter(depth=distributor.depth + depth)
    return members


def team_member_view(member: Distributor, *, leader: Distributor) -> TeamMember:
    return TeamMember(
        name=mask_nickname(member.shopper.nickname), invite_code=member.invite_code,
        depth=member.depth - leader.depth, status=member.status, sales_fen=member.sales_fen,
        joined_at=member.created_at,
    )


# ---------------------------------------------------------------- commissions


def commission_list(*, distributor_id: int, status: str | None = None) -> QuerySet:
    """The distributor's commissions, newest first, with the order number and the line's
    title (and nothing else of the buyer's order)."""
    rows = (Commission.objects.filter(distributor_id=distributor_id)
            .select_related("order", "order_line")
            .only("id", "kind", "tier", "base_fen", "rate_bp", "fixed_fen", "amount_fen",
                  "reversed_fen", "status", "plan_version", "explanation", "earned_at",
                  "order__number", "order_line__title", "order_line__quantity")
            .order_by("-earned_at", "-id"))
    if status:
        rows = rows.filter(status=status)
    return rows


def commission_counts(*, distributor_id: int) -> dict[str, int]:
    """How many commissions are in each state (the tabs' badges)."""
    rows = (Commission.objects.filter(distributor_id=distributor_id)
            .values("status").annotate(n=Count("id")))
    counts = dict.fromkeys(CommissionStatus.values, 0)
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


# ---------------------------------------------------------------- withdrawals


@dataclass(frozen=True)
class TransferConfirmation:
    """What wx.requestMerchantTransfer needs to let the distributor confirm receipt."""

    mch_id: str
    sub_mch_id: str
    app_id: str
    package: str


@dataclass(frozen=True)
class WithdrawalRow:
    withdrawal: Withdrawal
    confirmation: TransferConfirmation | None


def withdrawal_list(*, distributor_id: int) -> QuerySet:
    return Withdrawal.objects.filter(distributor_id=distributor_id).order_by("-created_at",
                                                                             "-id")


def withdrawal_rows(withdrawals) -> list[WithdrawalRow]:
    """Withdrawals with, for each one WeChat is holding for the user's confirmation, the
    transfer's package (one query for the page's transfers)."""
    withdrawals = list(withdrawals)
    waiting = [w.out_bill_no for w in withdrawals if w.status == WithdrawalStatus.TRANSFERRING]
    transfers = {}
    if waiting:
        transfers = {t.out_bill_no: t for t in Transfer.objects.filter(
            out_bill_no__in=waiting, status=TransferStatus.WAIT_USER_CONFIRM,
        ).exclude(package_info="").only("out_bill_no", "sub_mchid", "appid", "package_info")}
    rows = []
    for withdrawal in withdrawals:
        transfer = transfers.get(withdrawal.out_bill_no)
        confirmation = None
        if transfer is not None:
            confirmation = TransferConfirmation(
                mch_id=settings.WECHATPAY_SP_MCHID, sub_mch_id=transfer.sub_mchid,
                app_id=transfer.appid, package=transfer.package_info,
            )
        rows.append(WithdrawalRow(withdrawal=withdrawal, confirmation=confirmation))
    return rows


@dataclass(frozen=True)
class WithdrawalRules:
    min_fen: int
    fee_bp: int
    fee_min_fen: int
    daily_count: int
    daily_fen: int
    real_name_from_fen: int


def withdrawal_rules() -> WithdrawalRules:
    rules = DistributionSettings.current()
    return WithdrawalRules(
        min_fen=rules.withdrawal_min_fen, fee_bp=rules.withdrawal_fee_bp,
        fee_min_fen=rules.withdrawal_fee_min_fen, daily_count=rules.withdrawal_daily_count,
        daily_fen=rules.withdrawal_daily_fen, real_name_from_fen=REAL_NAME_FROM_FEN,
    )


# ---------------------------------------------------------------- the earnings calculator


@dataclass(frozen=True)
class EarningsPreview:
    plan: CommissionPlan
    price_fen: int
    quantity: int
    tiers: list[dict]  # [{"tier": 1, "amount_fen": n}, …]
    explanations: list[dict]


def earnings_preview(*, distributor: Distributor | None, price_fen: int, quantity: int,
                     now: dt.datetime | None = None) -> EarningsPreview | None:
    """What the active plan would pay on a sale of `quantity` × `price_fen`: as tier 1
    (your customer buys) and tier 2 (a customer of someone you recruited buys), at the
    distributor's level and with this month's stage bonus. The same arithmetic as a paid
    order (plans.plan_preview → calculator). None when no plan is active or it no longer
    passes today's rules."""
    for value, top, name in ((price_fen, PREVIEW_MAX_PRICE_FEN, "price_fen"),
                             (quantity, PREVIEW_MAX_QUANTITY, "quantity")):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= top:
            raise DistributionInvalid(fields={name: [f"A whole number from 1 to {top}."]})
    plan = plans.active_plan()
    if plan is None:
        return None
    rank = distributor.level.rank if distributor and distributor.level else None
    monthly = (commissions.monthly_sales_fen(distributor.pk, before=now or timezone.now())
               if distributor else 0)
    try:
        result = plans.plan_preview(
            plans.plan_fields(plan),
            lines=[{"paid_fen": price_fen * quantity, "quantity": quantity}],
            level_ranks=[rank] * plan.tiers if rank is not None else (),
            monthly_sales_fen=monthly,
        )
    except PlanInvalid:
        return None
    return EarningsPreview(plan=plan, price_fen=price_fen, quantity=quantity,
                           tiers=result["tiers"],
                           explanations=[share["explanation"] for share in result["shares"]])


# ---------------------------------------------------------------- sharing


def distributor_for_sharing(*, shopper_id: int) -> Distributor:
    """The shopper's distributor row if it may share (an active one): 404 when they are
    not a distributor, 409 while pending or frozen."""
    distributor = distributor_get_for_shopper(shopper_id=shopper_id)
    if distributor.status != DistributorStatus.ACTIVE:
        raise DistributorNotActive(
            "Your invite link and posters work once your distributor account is active.")
    return distributor


def share_path(*, distributor: Distributor, path: str = "/") -> str:
    """A mall path carrying the distributor's share code (binds the visitor to them) and
    invite code (recruits the visitor if they join)."""
    query = urlencode({"ref": distributor.shopper.share_code, "invite": distributor.invite_code})
    return f"{path}?{query}"
