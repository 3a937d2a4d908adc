"""Commissions of a paid order, and their reversal on refunds (DESIGN §5, §6).

`order_commissions_accrue` runs in the `order.paid` subscriber, inside the payment's
transaction: it writes the order's attribution (who brought the sale), one commission per
line and tier (each with its explanation and the plan version in force) and the ledger
entry `commission`/<order number>: Dr commission_expense, Cr each earner's payable.
Everything is keyed by the order, so a replayed payment event accrues nothing twice.

`order_commissions_reverse` runs when an after-sales case is refunded: each commission of a
refunded line keeps its share pro rata to what the buyer kept, in any state — after payout
too, when the distributor's balance may go negative and nets against later earnings.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.db.models import Sum

from core.actors import Actor
from storefront.distribution import binding, calculator, plans, tree
from storefront.distribution.models import (
    Commission,
    CommissionKind,
    CommissionPlan,
    CommissionReversal,
    CommissionStatus,
    DistributionSettings,
    Distributor,
    DistributorStatus,
    OrderAttribution,
)
from storefront.distribution.transitions import COMMISSION_MACHINE
from storefront.ledger.models import AccountCode as A
from storefront.ledger.services import Leg, entry_post
from storefront.orders.models import Order, OrderLine

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def party(distributor_id: int) -> str:
    """The ledger party of a distributor's payable and withdrawable accounts."""
    return f"dist:{distributor_id}"


def month_start(moment: dt.datetime) -> dt.datetime:
    """The first instant of `moment`'s month in Asia/Shanghai (business dates, §5)."""
    local = moment.astimezone(SHANGHAI)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _chain(order: Order, plan: CommissionPlan) -> tuple[Distributor | None, bool, list]:
    """Tier 1 (the buyer on self-purchase, else the bound distributor) and the earners,
    nearest first, each with their level: two queries, whatever the tree's size."""
    first, self_purchase = None, False
    if plan.self_purchase:
        first = (Distributor.objects.select_related("level")
                 .filter(shopper_id=order.shopper_id, status=DistributorStatus.ACTIVE).first())
        self_purchase = first is not None
    if first is None:
        first = binding.bound_distributor(order.shopper_id, at=order.paid_at)
    if first is None:
        return None, False, []
    return first, self_purchase, [first, *tree.upline(first, plan.tiers - 1)]


def monthly_sales_fen(distributor_id: int, *, before: dt.datetime) -> int:
    """A distributor's attributed sales this month (Asia/Shanghai), before `before`."""
    total = OrderAttribution.objects.filter(
        distributor_id=distributor_id, paid_at__gte=month_start(before), paid_at__lt=before,
    ).aggregate(total=Sum("goods_paid_fen"))["total"]
    return total or 0


def _leader(first: Distributor, plan: CommissionPlan) -> calculator.Leader | None:
    """A team reward's leader: the nearest recruiter above tier 1 at the plan's level."""
    team = plan.team_reward or {}
    if not team:
        return None
    ids = first.ancestor_ids
    candidates = (Distributor.objects.filter(
        pk__in=ids, status=DistributorStatus.ACTIVE,
        level__rank__gte=team["min_level_rank"],
    ).select_related("level"))
    by_id = {d.pk: d for d in candidates}
    for pk in ids:
        if pk in by_id:
            return calculator.Leader(ref=pk, level_name=by_id[pk].level.name)
    return None


def order_commissions_accrue(order: Order) -> OrderAttribution:
    """Attribute a just-paid order and accrue its commissions; answers the attribution.
    Idempotent per order."""
    existing = (OrderAttribution.objects.select_related("distributor")
                .filter(order_id=order.pk).first())
    if existing is not None:
        return existing
    rules = DistributionSettings.current()
    lines = list(OrderLine.objects.filter(order_id=order.pk).only(
        "id", "paid_fen", "quantity", "commission_override"))
    goods_paid = sum(line.paid_fen for line in lines)
    plan = plans.plan_for_order(order) if rules.enabled else None
    first, self_purchase, chain = (None, False, []) if plan is None else _chain(order, plan)
    if plan is None and rules.enabled:
        # With no plan in force the order is still attributed: who brought the sale.
        first = binding.bound_distributor(order.shopper_id, at=order.paid_at)
    attribution = OrderAttribution.objects.create(
        order_id=order.pk, distributor=first, self_purchase=self_purchase,
        plan=plan if first else None, goods_paid_fen=goods_paid, paid_at=order.paid_at,
    )
    if plan is None or not chain:
        return attribution
    earners = []
    for tier, distributor in enumerate(chain, start=1):
        if distributor is None or distributor.status != DistributorStatus.ACTIVE:
            continue  # a frozen or closed distributor earns nothing on new orders
        level = distributor.level
        bonus, label = ((plans.stage_for(plan, monthly_sales_fen(distributor.pk,
                                                                 before=order.paid_at)))
                        if tier == 1 and plan.stage_bonuses else (0, ""))
        earners.append(calculator.Earner(
            tier=tier, ref=distributor.pk,
            level_rates_bp=tuple(level.rates_bp) if level else (),
            level_name=level.name if level else "", stage_bonus_bp=bonus, stage_label=label,
        ))
    shares = calculator.compute(
        policy=plans.policy_of(plan, rules),
        lines=[calculator.Line(ref=line.pk, paid_fen=line.paid_fen, quantity=line.quantity,
                               override=line.commission_override or {}) for line in lines],
        earners=earners, leader=_leader(first, plan),
    )
    if not shares:
        return attribution
    commissions = Commission.objects.bulk_create([
        Commission(
            order_id=order.pk, order_line_id=share.line_ref, distributor_id=share.earner_ref,
            kind=share.kind, tier=share.tier, base_fen=share.base_fen, rate_bp=share.rate_bp,
            fixed_fen=share.fixed_fen, amount_fen=share.amount_fen,
            plan_version=plan.version, explanation=share.explanation,
            earned_at=order.paid_at,
        ) for share in shares
    ])
    entry_post(source="commission", source_key=order.number, order_id=order.pk,
               legs=accrual_legs(commissions), memo=f"commission on order {order.number}")
    for commission in commissions:
        COMMISSION_MACHINE.record_creation(commission, actor=Actor.system(),
                                           reason=commission.explanation.get("rule", ""),
                                           reference=order.number)
    return attribution


def accrual_legs(commissions) -> list[Leg]:
    per_party: dict[int, int] = defaultdict(int)
    for commission in commissions:
        per_party[commission.distributor_id] += commission.amount_fen
    total = sum(per_party.values())
    return [Leg(A.COMMISSION_EXPENSE, total),
            *(Leg(A.DISTRIBUTOR_PAYABLE, -amount, party(pk))
              for pk, amount in sorted(per_party.items()))]


def reversal_legs(reversals) -> list[Leg]:
    per_party: dict[int, int] = defaultdict(int)
    for reversal in reversals:
        per_party[reversal.distributor_id] += reversal.amount_fen
    total = sum(per_party.values())
    return [*(Leg(A.DISTRIBUTOR_PAYABLE, amount, party(pk))
              for pk, amount in sorted(per_party.items())),
            Leg(A.COMMISSION_EXPENSE, -total)]


def order_commissions_reverse(*, order_id: int, ledger_key: str, reason: str) -> int:
    """Reverse what the refunded part of each line no longer earns. Answers the fen
    reversed (0 on a replay: each commission's target is recomputed from its line)."""
    with transaction.atomic():
        commissions = list(
            Commission.objects.select_for_update().filter(order_id=order_id)
            .exclude(status=CommissionStatus.REVERSED).order_by("pk")
        )
        if not commissions:
            return 0
        lines = OrderLine.objects.in_bulk({c.order_line_id for c in commissions})
        reversals = []
        for commission in commissions:
            line = lines[commission.order_line_id]
            kept = calculator.kept_after_refund(commission.amount_fen, line.paid_fen,
                                                line.refunded_fen)
            delta = commission.amount_fen - commission.reversed_fen - kept
            if delta <= 0:
                continue
            commission.reversed_fen += delta
            Commission.objects.filter(pk=commission.pk).update(
                reversed_fen=commission.reversed_fen)
            reversals.append(CommissionReversal(
                commission=commission, distributor_id=commission.distributor_id,
                amount_fen=delta, ledger_key=ledger_key,
            ))
            if kept == 0:
                COMMISSION_MACHINE.transition(
                    pk=commission.pk, to_status=CommissionStatus.REVERSED,
                    actor=Actor.system(), reason=reason, reference=ledger_key,
                )
        if not reversals:
            return 0
        CommissionReversal.objects.bulk_create(reversals)
        entry_post(source="commission_reversal", source_key=ledger_key, order_id=order_id,
                   legs=reversal_legs(reversals), memo=reason[:200])
    return sum(reversal.amount_fen for reversal in reversals)


def order_commissions_freeze(order_id: int) -> int:
    """The order was received: its pending commissions wait out the after-sales window."""
    moved = 0
    for pk in Commission.objects.filter(order_id=order_id, status=CommissionStatus.PENDING,
                                        kind__in=CommissionKind.values).values_list("pk",
                                                                                    flat=True):
        COMMISSION_MACHINE.transition(pk=pk, to_status=CommissionStatus.FROZEN,
                                      actor=Actor.system(), reason="order received")
        moved += 1
    return moved

