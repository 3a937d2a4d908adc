"""Commission plans: validated, versioned, one active per mall (DESIGN §5, §6).

Saving a plan explains each refusal: tiers over the platform's cap, rates whose sum could
pass the mall's commission cap or the sub-merchant's profit-sharing ratio, and any reward
per head or entry fee (《禁止传销条例》 art. 7). A team reward is opt-in: it needs the
merchant's acknowledgement of the legal risk and a cap, and raises a compliance alert.

The plan of an order is looked up through `policy_for_order`, which a campaign (group buy,
flash sale) can take over by registering a resolver.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from billing.limits import clamp_commission_fields, commission_plan_check
from storefront.catalog.models import Sku
from storefront.distribution import calculator
from storefront.distribution.errors import (
    DistributionNotFound,
    IllegalDistributionTransition,
    PlanInvalid,
)
from storefront.distribution.models import (
    PLATFORM_MAX_TIERS,
    AlertKind,
    CommissionPlan,
    ComplianceAlert,
    DistributionSettings,
    Level,
    PayoutRoute,
    PlanStatus,
    RateSource,
)
from storefront.orders.services import commission_snapshot
from tenants.models import WeChatBinding

ART_7 = ("《禁止传销条例》 art. 7 forbids paying for recruiting people or charging an entry "
         "fee: commission may come only from sales of goods.")
# Keys a payload may use to ask for a reward per head or an entry fee: each is refused.
PER_HEAD_KEYS = frozenset({
    "per_recruit_fen", "recruit_reward_fen", "per_head_fen", "signup_bonus_fen",
    "referral_bonus_fen", "entry_fee_fen", "join_fee_fen", "membership_fee_fen",
})
PLAN_KEYS = frozenset({
    "name", "tiers", "rate_source", "rates_bp", "self_purchase", "stage_bonuses",
    "team_reward", "payout_route",
})
TEAM_RATE_MAX_BP = 1000  # a leader's bonus stays a small share of the team's sales
WECHAT_DEFAULT_SHARE_RATIO_BP = 3000  # WeChat's profit-sharing ratio when not yet known


def _bp(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10000


def _rates(value, tiers: int, field: str, errors: dict) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(_bp(rate) for rate in value):
        errors[field] = ["Give each tier's rate in whole basis points, 0 to 10000."]
        return ()
    if len(value) > tiers:
        errors[field] = [f"{len(value)} rates given for a plan of {tiers} tier(s)."]
        return ()
    return tuple(value)


def profit_sharing_ratio_bp() -> int:
    """The sub-merchant's profit-sharing ratio from its binding (WeChat's default until
    WeChat has told us)."""
    binding = WeChatBinding.objects.filter(
        merchant__schema_name=connection.schema_name
    ).only("profit_sharing_max_ratio_bp").first()
    if binding is None or binding.profit_sharing_max_ratio_bp is None:
        return WECHAT_DEFAULT_SHARE_RATIO_BP
    return binding.profit_sharing_max_ratio_bp


def plan_validate(data: dict, *, rules: DistributionSettings | None = None,
                  levels: Sequence[Level] | None = None) -> dict:
    """The cleaned fields of a plan, or PlanInvalid with a reason per field."""
    rules = rules or DistributionSettings.current()
    levels = list(Level.objects.all()) if levels is None else list(levels)
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        raise PlanInvalid(fields={"plan": ["Send the plan as an object."]})
    per_head = sorted(PER_HEAD_KEYS & set(data))
    for key in per_head:
        errors[key] = [ART_7]
    unknown = sorted(set(data) - PLAN_KEYS - PER_HEAD_KEYS)
    for key in unknown:
        errors[key] = ["Unknown setting."]

    name = (data.get("name") or "").strip() if isinstance(data.get("name", ""), str) else ""
    if not name or len(name) > 60:
        errors["name"] = ["Give the plan a name (at most 60 characters)."]
    tiers = data.get("tiers", 2)
    if not isinstance(tiers, int) or isinstance(tiers, bool) or tiers < 1:
        errors["tiers"] = ["Give the number of tiers, 1 to 3."]
        tiers = 1
    elif tiers > PLATFORM_MAX_TIERS:
        errors["tiers"] = [f"The platform pays at most {PLATFORM_MAX_TIERS} tiers; "
                           f"{tiers} were asked."]
        tiers = PLATFORM_MAX_TIERS
    rate_source = data.get("rate_source", RateSource.STATIC)
    if rate_source not in RateSource.values:
        errors["rate_source"] = ["Choose static rates or rates by level."]
        rate_source = RateSource.STATIC
    rates = _rates(data.get("rates_bp", []), tiers, "rates_bp", errors)
    if rate_source == RateSource.STATIC and not any(rates) and "rates_bp" not in errors:
        errors["rates_bp"] = ["Give at least one tier a rate."]
    if rate_source == RateSource.LEVELS and not levels:
        errors["rate_source"] = ["Define the levels first: this plan pays by level."]
    payout_route = data.get("payout_route", PayoutRoute.TRANSFER)
    if payout_route not in PayoutRoute.values:
        errors["payout_route"] = ["Choose monthly withdrawals or profit sharing per order."]
        payout_route = PayoutRoute.TRANSFER
    self_purchase = data.get("self_purchase", False)
    if not isinstance(self_purchase, bool):
        errors["self_purchase"] = ["Say yes or no."]

    stages = _stages(data.get("stage_bonuses", []), errors)
    team = _team(data.get("team_reward") or {}, levels, errors)

    # The most one order could pay: the highest rates any tier can reach, every stage
    # bonus, and the team reward.
    if rate_source == RateSource.LEVELS:
        tier_sum = max((sum(level.rates_bp[:tiers]) for level in levels), default=0)
    else:
        tier_sum = sum(rates[:tiers])
    worst = tier_sum + max((s["bonus_bp"] for s in stages), default=0) + team.get("rate_bp", 0)
    if worst > rules.commission_cap_bp:
        errors.setdefault("rates_bp", []).append(
            f"The rates can add up to {worst / 100:g}% of an order, over this mall's "
            f"commission cap of {rules.commission_cap_bp / 100:g}%."
        )
    if payout_route == PayoutRoute.PROFIT_SHARING:
        ratio = profit_sharing_ratio_bp()
        if worst > ratio:
            errors.setdefault("rates_bp", []).append(
                f"The rates can add up to {worst / 100:g}% of an order, over the "
                f"sub-merchant's profit-sharing ratio of {ratio / 100:g}%."
            )
    if errors:
        raise PlanInvalid(fields=errors)
    return {
        "name": name, "tiers": tiers, "rate_source": rate_source, "rates_bp": list(rates),
        "self_purchase": self_purchase, "stage_bonuses": stages, "team_reward": team,
        "payout_route": payout_route,
    }


def _stages(value, errors: dict) -> list[dict]:
    if value in (None, []):
        return []
    if not isinstance(value, list) or len(value) > 10:
        errors["stage_bonuses"] = ["Give at most 10 stages."]
        return []
    stages, last = [], 0
    for stage in value:
        threshold = stage.get("monthly_sales_fen") if isinstance(stage, dict) else None
        bonus = stage.get("bonus_bp") if isinstance(stage, dict) else None
        if not (isinstance(threshold, int) and threshold > last and _bp(bonus) and bonus):
            errors["stage_bonuses"] = [
                "Each stage is a monthly sales threshold in fen, rising, with a bonus rate "
                "in basis points."
            ]
            return []
        if set(stage) - {"monthly_sales_fen", "bonus_bp"}:
            errors["stage_bonuses"] = ["A stage has only monthly_sales_fen and bonus_bp."]
            return []
        stages.append({"monthly_sales_fen": threshold, "bonus_bp": bonus})
        last = threshold
    return stages


def _team(value, levels: Sequence[Level], errors: dict) -> dict:
    if not value:
        return {}
    if not isinstance(value, dict):
        errors["team_reward"] = ["Describe the team reward as an object."]
        return {}
    problems = []
    if value.get("acknowledge_legal_risk") is not True:
        problems.append(
            "A team reward on team sales is a legal risk (《禁止传销条例》 art. 7 looks at "
            "pay that depends on a downline): confirm acknowledge_legal_risk to use it."
        )
    rate, cap = value.get("rate_bp"), value.get("cap_fen")
    if not (_bp(rate) and 0 < rate <= TEAM_RATE_MAX_BP):
        problems.append(f"The team rate is 1 to {TEAM_RATE_MAX_BP} basis points.")
    if not (isinstance(cap, int) and not isinstance(cap, bool) and cap > 0):
        problems.append("A team reward needs a cap per order in fen.")
    rank = value.get("min_level_rank", 0)
    if not isinstance(rank, int) or rank not in {level.rank for level in levels}:
        problems.append("Name the level (min_level_rank) a leader must have reached.")
    if problems:
        errors["team_reward"] = problems
        return {}
    return {"rate_bp": rate, "cap_fen": cap, "min_level_rank": rank,
            "acknowledge_legal_risk": True}


def plan_create(data: dict, *, staff_id: int | None = None) -> CommissionPlan:
    """Save a validated plan, within what the mall's subscription plan allows, as the next
    draft version."""
    cleaned = plan_validate(data)
    commission_plan_check(cleaned)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                version = (CommissionPlan.objects.aggregate(v=Max("version"))["v"] or 0) + 1
                return CommissionPlan.objects.create(
                    version=version, created_by_id=staff_id, **cleaned
                )
        except IntegrityError:
            continue
    raise PlanInvalid("Another plan was saved at the same moment: save again.")


def plan_update(*, plan_id: int, data: dict) -> CommissionPlan:
    """Replace the fields of a draft (validated as a whole, like a new plan). An active or
    retired plan never changes: orders name its version; save a new draft instead."""
    cleaned = plan_validate(data)
    commission_plan_check(cleaned)
    with transaction.atomic():
        plan = CommissionPlan.objects.select_for_update().filter(pk=plan_id).first()
        if plan is None:
            raise DistributionNotFound("No such plan.")
        if plan.status != PlanStatus.DRAFT:
            raise IllegalDistributionTransition(
                f"Plan v{plan.version} is {plan.status}: only a draft can be edited; save "
                "your changes as a new draft.", fields={"status": [plan.status]})
        for name, value in cleaned.items():
            setattr(plan, name, value)
        plan.save(update_fields=list(cleaned))
    return plan


def plan_activate(*, plan_id: int, staff_id: int | None = None) -> CommissionPlan:
    """Make a draft the active plan; the one before is retired. Orders already paid keep
    the version they were paid under. Validated again against today's mall settings and
    subscription plan (a draft saved before a downgrade may no longer be allowed)."""
    with transaction.atomic():
        plan = CommissionPlan.objects.select_for_update().filter(pk=plan_id).first()
        if plan is None:
            raise DistributionNotFound("No such plan.")
        if plan.status != PlanStatus.DRAFT:
            raise IllegalDistributionTransition(
                f"Plan v{plan.version} is {plan.status}: only a draft can be activated.",
                fields={"status": [plan.status]})
        commission_plan_check(plan_validate(plan_fields(plan)))
        CommissionPlan.objects.filter(status=PlanStatus.ACTIVE).update(
            status=PlanStatus.RETIRED
        )
        plan.status = PlanStatus.ACTIVE
        plan.activated_at = timezone.now()
        plan.save(update_fields=["status", "activated_at"])
        if plan.team_reward:
            ComplianceAlert.objects.get_or_create(
                kind=AlertKind.PLAN_RISK, distributor=None, day=timezone.localdate(),
                defaults={"summary": f"Plan v{plan.version} pays a team reward on team "
                                     "sales: a legal risk, opted in by the merchant.",
                          "details": {"plan_version": plan.version, **plan.team_reward}},
            )
    return plan


def plan_clamp_to_subscription(*, plan, actor=None) -> list[dict]:
    """After the mall's subscription plan changed (billing.limits.plan_limits_enforce, in
    the mall's schema): an active commission plan the subscription no longer allows is
    replaced by a copy cut down to it (fewer tiers, static rates, no stage bonus or team
    reward), a new version activated at once; the old version is retired, never changed,
    and orders already paid keep theirs. Answers the change made, if any."""
    active = active_plan()
    if active is None:
        return []
    fields = plan_fields(active)
    entry_level = Level.objects.order_by("rank").first()
    clamped = clamp_commission_fields(
        fields, plan, base_rates=entry_level.rates_bp if entry_level else ())
    if clamped == fields:
        return []
    clamped["name"] = f"{active.name} ({plan.name})"[:60]
    staff_id = getattr(actor, "pk", None)
    with transaction.atomic():
        copy = plan_activate(plan_id=plan_create(clamped, staff_id=staff_id).pk,
                             staff_id=staff_id)
    return [{
        "action": "plan.clamped", "target": copy.pk,
        "detail": {"reason": f"The mall's plan changed to {plan.name}, which does not allow "
                             f"commission plan v{active.version}.",
                   "subscription_plan": plan.code, "from_version": active.version,
                   "to_version": copy.version, "before": fields,
                   "after": plan_fields(copy)},
    }]


def plan_fields(plan: CommissionPlan) -> dict:
    return {name: getattr(plan, name) for name in PLAN_KEYS}


def active_plan() -> CommissionPlan | None:
    return CommissionPlan.objects.filter(status=PlanStatus.ACTIVE).first()


# A campaign takes over the plan of its orders by registering a resolver: it answers the
# plan for an order, or None to leave the order to the next resolver and the active plan.
PlanResolver = Callable[[object], "CommissionPlan | None"]
_resolvers: list[PlanResolver] = []


def register_plan_resolver(resolver: PlanResolver) -> None:
    if resolver not in _resolvers:
        _resolvers.append(resolver)


def plan_for_order(order) -> CommissionPlan | None:
    for resolver in _resolvers:
        plan = resolver(order)
        if plan is not None:
            return plan
    return active_plan()


def policy_of(plan: CommissionPlan, rules: DistributionSettings) -> calculator.Policy:
    team = plan.team_reward or {}
    return calculator.Policy(
        version=plan.version, tiers=min(plan.tiers, PLATFORM_MAX_TIERS),
        rate_source=plan.rate_source, rates_bp=tuple(plan.rates_bp),
        cap_bp=rules.commission_cap_bp,
        team_rate_bp=team.get("rate_bp", 0), team_cap_fen=team.get("cap_fen", 0),
    )


def stage_for(plan: CommissionPlan, monthly_sales_fen: int) -> tuple[int, str]:
    """The stage bonus (bp) a distributor has reached with this month's sales so far."""
    reached = [s for s in plan.stage_bonuses if monthly_sales_fen >= s["monthly_sales_fen"]]
    if not reached:
        return 0, ""
    top = reached[-1]
    return top["bonus_bp"], f"monthly sales ≥ {top['monthly_sales_fen']} fen"


def preview_lines_for_skus(items: Sequence[tuple[int, int]]) -> list[dict]:
    """Sample-cart lines for a preview from (sku id, quantity) pairs: each at its price
    with the commission override its order line would carry, so the preview of a cart of
    real goods is what that cart pays. Unknown SKUs are refused."""
    skus = Sku.objects.select_related("product").in_bulk([sku_id for sku_id, _q in items])
    lines = []
    for index, (sku_id, quantity) in enumerate(items):
        sku = skus.get(sku_id)
        if sku is None:
            raise PlanInvalid(fields={"lines": [f"Line {index + 1}: no such goods."]})
        lines.append({"paid_fen": sku.price_fen * quantity, "quantity": quantity,
                      "override": commission_snapshot(sku)})
    return lines


def plan_preview(data: dict, *, lines: Sequence[dict], level_ranks: Sequence[int] = (),
                 monthly_sales_fen: int = 0) -> dict:
    """What each tier would earn on a sample cart under a plan not yet saved.

    `lines`: [{"paid_fen", "quantity", "override"?}]; `level_ranks`: each tier's level
    under a plan by level. Answers the shares and the totals per tier."""
    cleaned = plan_validate(data)
    rules = DistributionSettings.current()
    plan = CommissionPlan(version=0, **cleaned)
    levels = {level.rank: level for level in Level.objects.all()}
    earners = []
    for tier in range(1, plan.tiers + 1):
        level = levels.get(level_ranks[tier - 1]) if tier - 1 < len(level_ranks) else None
        bonus, label = stage_for(plan, monthly_sales_fen) if tier == 1 else (0, "")
        earners.append(calculator.Earner(
            tier=tier, ref=tier, level_rates_bp=tuple(level.rates_bp) if level else (),
            level_name=level.name if level else "", stage_bonus_bp=bonus, stage_label=label,
        ))
    sample = []
    for index, line in enumerate(lines):
        paid, quantity = line.get("paid_fen"), line.get("quantity", 1)
        if not (isinstance(paid, int) and paid >= 0 and isinstance(quantity, int)
                and quantity > 0):
            raise PlanInvalid(fields={"lines": [f"Line {index + 1}: give paid_fen and "
                                                "quantity as whole numbers."]})
        sample.append(calculator.Line(ref=index, paid_fen=paid, quantity=quantity,
                                      override=line.get("override") or {}))
    shares = calculator.compute(policy=policy_of(plan, rules), lines=sample, earners=earners)
    by_tier: dict[int, int] = {}
    for share in shares:
        by_tier[share.tier] = by_tier.get(share.tier, 0) + share.amount_fen
    return {
        "shares": [{"line": s.line_ref, "tier": s.tier, "amount_fen": s.amount_fen,
                    "explanation": s.explanation} for s in shares],
        "tiers": [{"tier": tier, "amount_fen": by_tier.get(tier, 0)}
                  for tier in range(1, plan.tiers + 1)],
        "total_fen": sum(by_tier.values()),
    }
