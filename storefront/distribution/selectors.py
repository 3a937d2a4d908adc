"""Reads of the distribution engine for the staff faces: lists with their filters, and
`*_get` fetches that answer a 404 (a domain error) for an unknown id."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet

from storefront.distribution.errors import DistributionInvalid, DistributionNotFound
from storefront.distribution.models import (
    BindingChange,
    Commission,
    CommissionPlan,
    CommissionReversal,
    CustomerBinding,
    Distributor,
    Level,
    OrderAttribution,
    Statement,
    Withdrawal,
)
from storefront.orders.models import Order
from storefront.shoppers.models import Shopper


def distributor_list(*, status: str | None = None, level_id: int | None = None,
                     q: str | None = None) -> QuerySet[Distributor]:
    """Newest first. `q`: an invite code (any case), the start of a phone number, or part
    of the shopper's nickname."""
    distributors = Distributor.objects.select_related("shopper", "level", "recruiter")
    if status:
        distributors = distributors.filter(status=status)
    if level_id is not None:
        distributors = distributors.filter(level_id=level_id)
    q = (q or "").strip()
    if q:
        distributors = distributors.filter(
            Q(invite_code=q.upper()) | Q(shopper__phone__startswith=q)
            | Q(shopper__nickname__icontains=q))
    return distributors.order_by("-created_at", "-id")


def distributor_get(*, distributor_id: int) -> Distributor:
    distributor = (Distributor.objects.select_related("shopper", "level", "recruiter")
                   .filter(pk=distributor_id).first())
    if distributor is None:
        raise DistributionNotFound()
    return distributor


def distributor_for_input(distributor_id: int | None, *, field: str) -> Distributor | None:
    """A distributor named in a request body: unknown is bad input (400), not a 404."""
    if distributor_id is None:
        return None
    distributor = Distributor.objects.filter(pk=distributor_id).first()
    if distributor is None:
        raise DistributionInvalid(fields={field: ["No such distributor."]})
    return distributor


def shopper_for_input(shopper_id: int, *, field: str = "shopper_id") -> Shopper:
    shopper = Shopper.objects.filter(pk=shopper_id).first()
    if shopper is None:
        raise DistributionInvalid(fields={field: ["No such shopper."]})
    return shopper


def shopper_find(text: str, *, field: str = "shopper") -> Shopper:
    """A shopper named by staff in a form: their phone number, or their id as "#12"."""
    text = (text or "").strip()
    shopper = None
    if text.startswith("#") and text[1:].isdigit():
        shopper = Shopper.objects.filter(pk=int(text[1:])).first()
    elif text:
        shopper = Shopper.objects.filter(phone=text).first()
    if shopper is None:
        raise DistributionInvalid(fields={field: ["No shopper with this phone number "
                                                  "(or #id)."]})
    return shopper


def level_for_input(level_id: int | None, *, field: str = "level_id") -> Level | None:
    if level_id is None:
        return None
    level = Level.objects.filter(pk=level_id).first()
    if level is None:
        raise DistributionInvalid(fields={field: ["No such level."]})
    return level


def team_of(*, distributor: Distributor, depth: int | None = None) -> QuerySet[Distributor]:
    """Everyone below a distributor (a range scan of the path index), nearest first;
    `depth`: only those that many levels below (1: their direct recruits)."""
    team = (Distributor.objects.filter(path__startswith=distributor.path)
            .exclude(pk=distributor.pk).select_related("shopper", "level", "recruiter")
            .annotate(depth_below=F("depth") - distributor.depth))
    if depth is not None:
        team = team.filter(depth=distributor.depth + depth)
    return team.order_by("depth", "-created_at", "-id")


def binding_changes_of(*, distributor_id: int) -> QuerySet[BindingChange]:
    """Every binding change that gave a customer to this distributor or took one away,
    newest first."""
    distributor_get(distributor_id=distributor_id)
    return (BindingChange.objects.filter(Q(from_distributor_id=distributor_id)
                                         | Q(to_distributor_id=distributor_id))
            .select_related("shopper", "from_distributor", "to_distributor")
            .order_by("-created_at", "-id"))


def customers_of(*, distributor_id: int) -> QuerySet[CustomerBinding]:
    """The shoppers bound to a distributor now, newest binding first."""
    distributor_get(distributor_id=distributor_id)
    return (CustomerBinding.objects.filter(distributor_id=distributor_id)
            .select_related("shopper").order_by("-bound_at", "-id"))


def binding_history(*, shopper_id: int) -> QuerySet[BindingChange]:
    """Every change of a shopper's binding, oldest first (404 for an unknown shopper)."""
    if not Shopper.objects.filter(pk=shopper_id).exists():
        raise DistributionNotFound("No such shopper.")
    return (BindingChange.objects.filter(shopper_id=shopper_id)
            .select_related("from_distributor", "to_distributor").order_by("created_at", "id"))


def plan_list() -> QuerySet[CommissionPlan]:
    return CommissionPlan.objects.order_by("-version")


def plan_get(*, plan_id: int) -> CommissionPlan:
    plan = CommissionPlan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise DistributionNotFound("No such plan.")
    return plan


def statement_list(*, month: dt.date | None = None,
                   status: str | None = None) -> QuerySet[Statement]:
    statements = Statement.objects.select_related("distributor__shopper")
    if month is not None:
        statements = statements.filter(month=month)
    if status:
        statements = statements.filter(status=status)
    return statements.order_by("-month", "-id")


def statement_get(*, statement_id: int) -> Statement:
    statement = (Statement.objects.select_related("distributor__shopper")
                 .filter(pk=statement_id).first())
    if statement is None:
        raise DistributionNotFound("No such statement.")
    return statement


def statement_commissions(*, statement: Statement) -> QuerySet[Commission]:
    """The commissions a statement settled, with their orders."""
    return (Commission.objects.filter(statement=statement)
            .select_related("order").order_by("earned_at", "id"))


def statement_reversals(*, statement: Statement) -> QuerySet[CommissionReversal]:
    """What refunds took back that this statement settled (netted against it)."""
    return (CommissionReversal.objects.filter(statement=statement)
            .select_related("commission__order").order_by("id"))


def withdrawal_list(*, status: str | None = None) -> QuerySet[Withdrawal]:
    withdrawals = Withdrawal.objects.select_related("distributor__shopper")
    if status:
        withdrawals = withdrawals.filter(status=status)
    return withdrawals.order_by("-created_at", "-id")


def withdrawal_get(*, withdrawal_id: int) -> Withdrawal:
    withdrawal = Withdrawal.objects.select_related("distributor").filter(
        pk=withdrawal_id).first()
    if withdrawal is None:
        raise DistributionNotFound("No such withdrawal.")
    return withdrawal


def distributor_find(*, ref: str) -> Distributor | None:
    """A distributor named by staff in a filter: their invite code (any case) or id."""
    ref = (ref or "").strip()
    if not ref:
        return None
    match = Q(invite_code=ref.upper())
    if ref.isdigit() and int(ref) < 2**63:
        match |= Q(pk=int(ref))
    return Distributor.objects.select_related("shopper").filter(match).first()


def orders_referred_by(*, orders: QuerySet[Order], distributor: Distributor) -> QuerySet[Order]:
    """The orders among `orders` this distributor brought in: attributed to them when paid,
    or placed through their link (the order's referrer) and not paid yet."""
    return orders.filter(Q(attribution__distributor=distributor)
                         | Q(attribution__isnull=True, referrer_id=distributor.shopper_id))


def order_attribution(*, order_id: int) -> OrderAttribution | None:
    return (OrderAttribution.objects.select_related("distributor__shopper", "plan")
            .filter(order_id=order_id).first())


@dataclass(frozen=True)
class CommissionTier:
    """An order's commissions of one tier (0: a team leader's reward): what was earned,
    what refunds took back, and how much is in each state."""

    kind: str
    tier: int
    amount_fen: int
    reversed_fen: int
    by_status: dict[str, int]

    @property
    def net_fen(self) -> int:
        return self.amount_fen - self.reversed_fen


def order_commissions(*, order_id: int) -> list[Commission]:
    """An order's commissions, by tier then line, with their distributors."""
    return list(Commission.objects.filter(order_id=order_id)
                .select_related("distributor__shopper").order_by("kind", "tier", "order_line_id"))


def commission_tiers(commissions: list[Commission]) -> list[CommissionTier]:
    """`order_commissions` summed per kind and tier; `by_status` sums the net amount."""
    tiers: dict[tuple[str, int], dict] = {}
    for commission in commissions:
        row = tiers.setdefault((commission.kind, commission.tier),
                               {"amount_fen": 0, "reversed_fen": 0, "by_status": {}})
        row["amount_fen"] += commission.amount_fen
        row["reversed_fen"] += commission.reversed_fen
        net = commission.amount_fen - commission.reversed_fen
        row["by_status"][commission.status] = row["by_status"].get(commission.status, 0) + net
    return [CommissionTier(kind=kind, tier=tier, **row)
            for (kind, tier), row in sorted(tiers.items(), key=lambda item: (item[0][1] == 0,
                                                                            item[0][1]))]
def level_holders() -> list[tuple[int, int]]:
    """(level id, distributors on it) for every level someone holds."""
    return list(Distributor.objects.exclude(level=None).values("level_id")
                .annotate(n=Count("id")).values_list("level_id", "n"))


def distributor_counts(ids: list[int]) -> dict[int, dict[str, int]]:
    """Direct recruits and bound customers of the distributors of one page of a list:
    two grouped index scans on those ids, whatever the size of the mall."""
    counts = {pk: {"direct": 0, "customers": 0} for pk in ids}
    for pk, n in (Distributor.objects.filter(recruiter_id__in=ids).values("recruiter_id")
                  .annotate(n=Count("id")).values_list("recruiter_id", "n")):
        counts[pk]["direct"] = n
    for pk, n in (CustomerBinding.objects.filter(distributor_id__in=ids)
                  .values("distributor_id").annotate(n=Count("id"))
                  .values_list("distributor_id", "n")):
        counts[pk]["customers"] = n
    return counts
