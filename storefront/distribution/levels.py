"""Distributor levels and promotion (DESIGN §6).

A level (普通 / 白银 / 黄金 / 团长) has rates per tier, used by a plan that pays by level, and
conditions that promote a distributor to it: sales figures, and a count of direct recruits.
A recruit count may count toward a level only together with a sales condition that must
also hold (《禁止传销条例》 art. 7: a rank earned by recruiting alone is pay for recruiting),
so a level naming `direct_recruits` needs `match_all` and a positive sales condition.
Own purchases are not such a condition: buying goods to rank up is a disguised entry fee.

`promote` moves a distributor up to the highest level they qualify for; it runs when one of
their orders completes and nightly for everyone. `levels_review_monthly` (on the 1st) moves
down whoever no longer meets a level that is re-checked monthly. Both go through
services.level_set, which records every change with its reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from core.actors import Actor
from storefront.distribution import plans, services, tree
from storefront.distribution.errors import (
    DistributionInvalid,
    LevelInUse,
    LevelNotFound,
    PlanInvalid,
)
from storefront.distribution.models import (
    PLATFORM_MAX_TIERS,
    CommissionPlan,
    Distributor,
    DistributorStatus,
    Level,
    LevelChange,
    OrderAttribution,
    PlanStatus,
    RateSource,
)
from storefront.distribution.settlement import current_month, month_bounds, previous_month
from storefront.orders.models import OrderLine

CONDITION_KEYS = ("monthly_gmv_fen", "total_gmv_fen", "own_purchases_fen", "direct_recruits",
                  "team_sales_fen")
# Sales of goods to others, which a recruit count must come with. Not own purchases.
SALES_KEYS = frozenset({"monthly_gmv_fen", "total_gmv_fen", "team_sales_fen"})
RECRUIT_KEY = "direct_recruits"
LEVEL_FIELDS = frozenset({"name", "rank", "rates_bp", "conditions", "match_all",
                          "demote_monthly"})
MAX_RANK = 100
MAX_FIGURE = 10**13  # ¥100 billion in fen: far above any real threshold, inside bigint


def art_7_recruits() -> str:
    return _("《禁止传销条例》 art. 7: a recruit count may count toward a level only together "
             "with a sales condition that must also be met (match all, and a monthly, total "
             "or team sales threshold above zero).")


# ------------------------------------------------------------------ validation


def _whole(value, *, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _clean_rates(value, errors: dict) -> list[int]:
    if not isinstance(value, list) or len(value) > PLATFORM_MAX_TIERS or not all(
            _whole(rate, low=0, high=10_000) for rate in value):
        errors["rates_bp"] = [_("Give up to %(tiers)d rates, one per tier, each 0 to 10000 "
                                "basis points.") % {"tiers": PLATFORM_MAX_TIERS}]
        return []
    return list(value)


def _clean_conditions(value, match_all: bool, errors: dict) -> dict[str, int]:
    if not isinstance(value, dict):
        errors["conditions"] = [_("Give the conditions as an object.")]
        return {}
    problems = []
    unknown = sorted(set(value) - set(CONDITION_KEYS))
    if unknown:
        problems.append(_("Unknown condition(s): %(keys)s. Use %(allowed)s.")
                        % {"keys": ", ".join(map(str, unknown)),
                           "allowed": ", ".join(CONDITION_KEYS)})
    bad = sorted(key for key in set(value) & set(CONDITION_KEYS)
                 if not _whole(value[key], low=0, high=MAX_FIGURE))
    if bad:
        problems.append(_("Each condition is a whole number from 0: %(keys)s.")
                        % {"keys": ", ".join(bad)})
    if problems:
        errors["conditions"] = problems
        return {}
    if RECRUIT_KEY in value and not (
            match_all and any(value.get(key, 0) > 0 for key in SALES_KEYS)):
        errors["conditions"] = [art_7_recruits()]
        return {}
    return {key: value[key] for key in CONDITION_KEYS if key in value}


def level_validate(data: Mapping, *, current: Level | None = None) -> dict:
    """The cleaned fields of a level (all of them for a new one, those given for an
    update), or DistributionInvalid naming each field that is wrong."""
    if not isinstance(data, Mapping):
        raise DistributionInvalid(fields={"level": [_("Send the level as an object.")]})
    errors: dict[str, list[str]] = {}
    for key in sorted(set(data) - LEVEL_FIELDS):
        errors[key] = [_("Unknown field.")]
    merged = {"rates_bp": [], "conditions": {}, "match_all": True, "demote_monthly": False,
              **({name: getattr(current, name) for name in LEVEL_FIELDS} if current else {}),
              **{key: value for key, value in data.items() if key in LEVEL_FIELDS}}
    name = merged.get("name")
    if not (isinstance(name, str) and 0 < len(name.strip()) <= 20):
        errors["name"] = [_("Give the level a name (at most 20 characters).")]
    rank = merged.get("rank")
    if not _whole(rank, low=0, high=MAX_RANK):
        errors["rank"] = [_("Give the rank as a whole number, 0 to %(max)d.")
                          % {"max": MAX_RANK}]
    elif Level.objects.filter(rank=rank).exclude(pk=current.pk if current else None).exists():
        errors["rank"] = [_("Another level has rank %(rank)d.") % {"rank": rank}]
    for flag in ("match_all", "demote_monthly"):
        if not isinstance(merged[flag], bool):
            errors[flag] = [_("Say yes or no.")]
    rates = _clean_rates(merged["rates_bp"], errors)
    conditions = _clean_conditions(merged["conditions"], merged["match_all"] is True, errors)
    if errors:
        raise DistributionInvalid(_("The level cannot be saved."), fields=errors)
    cleaned = {"name": name.strip(), "rank": rank, "rates_bp": rates,
               "conditions": conditions, "match_all": merged["match_all"],
               "demote_monthly": merged["demote_monthly"]}
    return cleaned if current is None else {key: cleaned[key] for key in data}


def _check_active_plan(levels: Sequence[Level]) -> None:
    """A plan that pays by level must stay within the mall's caps with the new rates."""
    plan = CommissionPlan.objects.filter(status=PlanStatus.ACTIVE,
                                         rate_source=RateSource.LEVELS).first()
    if plan is None:
        return
    try:
        plans.plan_validate(plans.plan_fields(plan), levels=levels)
    except PlanInvalid as error:
        reasons = [message for messages in error.fields.values() for message in messages]
        raise DistributionInvalid(
            _("The active plan v%(version)d pays by level and would break its rules.")
            % {"version": plan.version}, fields={"rates_bp": reasons}) from error


# ------------------------------------------------------------------ CRUD


def level_get(*, level_id: int) -> Level:
    level = Level.objects.filter(pk=level_id).first()
    if level is None:
        raise LevelNotFound()
    return level


def level_create(*, data: Mapping) -> Level:
    """A new level; its rates are checked against the active plan by level."""
    cleaned = level_validate(data)
    try:
        with transaction.atomic():
            level = Level(**cleaned)
            _check_active_plan([*Level.objects.all(), level])
            level.save()
    except IntegrityError as error:
        raise _rank_taken(cleaned["rank"]) from error
    return level


def _rank_taken(rank: int) -> DistributionInvalid:
    """Two saves racing for one rank: the unique index refused the second."""
    return DistributionInvalid(_("The level cannot be saved."),
                               fields={"rank": [_("Another level has rank %(rank)d.")
                                                % {"rank": rank}]})


def level_update(*, level_id: int, data: Mapping) -> Level:
    """Change some fields of a level. Distributors keep their level; the next promotion
    run applies the new conditions."""
    try:
        with transaction.atomic():
            level = Level.objects.select_for_update().filter(pk=level_id).first()
            if level is None:
                raise LevelNotFound()
            changes = level_validate(data, current=level)
            for name, value in changes.items():
                setattr(level, name, value)
            _check_active_plan([*Level.objects.exclude(pk=level.pk), level])
            if changes:
                level.save(update_fields=list(changes))
    except IntegrityError as error:
        raise _rank_taken(data.get("rank", -1)) from error
    return level


def level_delete(*, level_id: int) -> None:
    """Only a level nobody holds or held, and no plan names, can go: the history keeps
    what levels distributors had."""
    with transaction.atomic():
        level = Level.objects.select_for_update().filter(pk=level_id).first()
        if level is None:
            raise LevelNotFound()
        held = Distributor.objects.filter(level=level).count()
        if held:
            raise LevelInUse(_("%(count)d distributor(s) hold this level: move them first.")
                             % {"count": held})
        if LevelChange.objects.filter(Q(from_level=level) | Q(to_level=level)).exists():
            raise LevelInUse(_("Distributors have held this level; their history keeps it."))
        team_plans = [plan.version for plan in CommissionPlan.objects.exclude(
            status=PlanStatus.RETIRED).exclude(team_reward={})
            if plan.team_reward.get("min_level_rank") == level.rank]
        if team_plans:
            raise LevelInUse(_("Plan v%(version)d's team reward names this level.")
                             % {"version": team_plans[0]})
        if Level.objects.count() == 1 and CommissionPlan.objects.filter(
                rate_source=RateSource.LEVELS).exclude(status=PlanStatus.RETIRED).exists():
            raise LevelInUse(_("A plan pays by level: keep at least one level."))
        level.delete()


# ------------------------------------------------------------------ figures


@dataclass(frozen=True)
class Figures:
    """What the conditions of a level are checked against, for one month."""

    month: dt.date
    monthly_gmv_fen: int
    total_gmv_fen: int
    own_purchases_fen: int
    direct_recruits: int
    team_sales_fen: int

    def as_dict(self) -> dict:
        data = asdict(self)
        data["month"] = self.month.isoformat()
        return data


def _goods_less_refunds(lines) -> int:
    return lines.aggregate(total=Coalesce(Sum(F("paid_fen") - F("refunded_fen")), 0))["total"]


def monthly_gmv_fen(distributor_id: int, month: dt.date) -> int:
    """Goods paid (less what was refunded) of the orders attributed to the distributor
    that were paid in `month`, Asia/Shanghai. Refunds count, so buying and returning
    goods never lifts a level."""
    start, end = month_bounds(month)
    orders = OrderAttribution.objects.filter(
        distributor_id=distributor_id, paid_at__gte=start, paid_at__lt=end,
    ).values("order_id")
    return _goods_less_refunds(OrderLine.objects.filter(order_id__in=orders))


def own_purchases_fen(shopper_id: int) -> int:
    """Goods the distributor bought and paid for themselves, less refunds."""
    return _goods_less_refunds(OrderLine.objects.filter(
        order__shopper_id=shopper_id, order__paid_at__isnull=False))


def distributor_figures(distributor: Distributor, month: dt.date | None = None) -> Figures:
    month = month or current_month()
    return Figures(
        month=month,
        monthly_gmv_fen=monthly_gmv_fen(distributor.pk, month),
        total_gmv_fen=distributor.sales_fen,
        own_purchases_fen=own_purchases_fen(distributor.shopper_id),
        direct_recruits=Distributor.objects.filter(
            recruiter_id=distributor.pk, status=DistributorStatus.ACTIVE).count(),
        team_sales_fen=tree.team_totals(distributor).sales_fen,
    )


# ------------------------------------------------------------------ conditions


def _conditions(level: Level) -> dict[str, int]:
    return {key: value for key, value in level.conditions.items() if key in CONDITION_KEYS}


def conditions_met(level: Level, figures: Figures) -> dict[str, int]:
    """The conditions of `level` that `figures` meet: {key: threshold}."""
    return {key: threshold for key, threshold in _conditions(level).items()
            if getattr(figures, key) >= threshold}


def recruit_rule_holds(level: Level) -> bool:
    """A recruit count only with match-all and a positive sales condition (art. 7)."""
    conditions = _conditions(level)
    return RECRUIT_KEY not in conditions or (
        level.match_all and any(conditions.get(key, 0) > 0 for key in SALES_KEYS))


def qualifies(level: Level, figures: Figures) -> bool:
    """Whether `figures` reach a level that has conditions (all, or any, of them). The
    recruit rule is applied again here, so a level saved before it (or written to the
    database by hand) cannot promote anyone on recruits alone."""
    conditions = _conditions(level)
    if not conditions or not recruit_rule_holds(level):
        return False
    met = conditions_met(level, figures)
    return len(met) == len(conditions) if level.match_all else bool(met)


def _rank(level: Level | None) -> int:
    return level.rank if level is not None else -1


def promotion_target(current: Level | None, levels: Iterable[Level],
                     figures: Sequence[Figures]) -> tuple[Level, Figures] | None:
    """The highest level above `current` that any of `figures` qualifies for."""
    for level in sorted(levels, key=lambda lv: lv.rank, reverse=True):
        if level.rank <= _rank(current):
            break
        for months_figures in figures:
            if qualifies(level, months_figures):
                return level, months_figures
    return None


def _reason(level: Level, figures: Figures) -> str:
    met = "; ".join(f"{key} {getattr(figures, key)} ≥ {threshold}"
                    for key, threshold in conditions_met(level, figures).items())
    return f"promoted to {level.name}: {met} ({figures.month:%Y-%m})"[:200]


def promote(distributor_id: int, *, now: dt.datetime | None = None,
            all_levels: Sequence[Level] | None = None) -> Level | None:
    """Move an active distributor up to the highest level whose conditions hold, with
    this month's figures or last month's (an order paid late in a month completes in the
    next). Never moves down. Answers the new level, or None when nothing changed.
    `all_levels`: the levels, read once by a run over every distributor."""
    distributor = (Distributor.objects.select_related("level")
                   .filter(pk=distributor_id, status=DistributorStatus.ACTIVE).first())
    if distributor is None:
        return None
    all_levels = list(Level.objects.all()) if all_levels is None else all_levels
    above = [lv for lv in all_levels if lv.rank > _rank(distributor.level)]
    if not any(_conditions(lv) for lv in above):
        return None  # at the top already: no figures to read
    this_month = distributor_figures(distributor, current_month(now))
    last = previous_month(now)
    last_month = replace(this_month, month=last,
                         monthly_gmv_fen=monthly_gmv_fen(distributor.pk, last))
    target = promotion_target(distributor.level, above, [this_month, last_month])
    if target is None:
        return None
    level, reached = target
    changed = services.level_set(distributor_id=distributor.pk, level=level,
                                 actor=Actor.system(), reason=_reason(level, reached))
    return level if changed else None


def demotion_target(current: Level, levels: Iterable[Level], figures: Figures) -> Level | None:
    """Where a distributor who no longer meets `current` goes: the highest lower level
    they still qualify for, else the starting (lowest) level."""
    lower = sorted((lv for lv in levels if lv.rank < current.rank), key=lambda lv: lv.rank)
    for level in reversed(lower):
        if qualifies(level, figures):
            return level
    return lower[0] if lower else None


def review_monthly(distributor_id: int, *, month: dt.date) -> Level | None:
    """Re-check a distributor on a level that is re-checked monthly against `month`'s
    figures (the month just ended); move them down when it no longer holds."""
    distributor = (Distributor.objects.select_related("level")
                   .filter(pk=distributor_id, status=DistributorStatus.ACTIVE).first())
    if distributor is None or distributor.level is None or not distributor.level.demote_monthly:
        return None
    current = distributor.level
    figures = distributor_figures(distributor, month)
    if not current.conditions or qualifies(current, figures):
        return None
    target = demotion_target(current, Level.objects.all(), figures)
    if target is None:
        return None
    reason = (f"monthly review {month:%Y-%m}: {current.name} no longer met "
              f"({_figures_text(current, figures)})")
    changed = services.level_set(distributor_id=distributor.pk, level=target,
                                 actor=Actor.system(), reason=reason)
    return target if changed else None


def _figures_text(level: Level, figures: Figures) -> str:
    return ", ".join(f"{key} {getattr(figures, key)} < {threshold}"
                     for key, threshold in _conditions(level).items()
                     if getattr(figures, key) < threshold)
