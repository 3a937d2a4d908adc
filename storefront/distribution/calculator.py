"""The commission arithmetic (DESIGN §5), with no database: the same function prices a
paid order, a plan preview and the distributor centre's earnings calculator, so what a
merchant previews is what the order pays.

A commission is `floor(base_fen * rate_bp / 10000)` per order line and tier; the base is
what the buyer paid for the line (after discounts, shipping excluded). Per-line overrides
from the catalogue: `none` pays nothing, `fixed` pays a fixed amount per unit to tier 1,
`rates` replaces the tier rates. The order's total never passes the mall's cap: the
farthest tiers give way first, and each trimmed commission says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    ref: int  # the order line's id (or a preview's index)
    paid_fen: int
    quantity: int
    override: dict = field(default_factory=dict)  # OrderLine.commission_override


@dataclass(frozen=True)
class Earner:
    tier: int  # 1 is the buyer's distributor (or the buyer on self-purchase)
    ref: int  # the distributor's id
    level_rates_bp: tuple[int, ...] = ()
    level_name: str = ""
    stage_bonus_bp: int = 0  # tier 1 only: the stage passed this month
    stage_label: str = ""


@dataclass(frozen=True)
class Leader:
    ref: int
    level_name: str


@dataclass(frozen=True)
class Policy:
    """What the calculator needs of a plan (storefront.distribution.plans.policy_of)."""

    version: int
    tiers: int
    rate_source: str  # "static" or "levels"
    rates_bp: tuple[int, ...]
    cap_bp: int  # the mall's cap on an order's total commission
    team_rate_bp: int = 0
    team_cap_fen: int = 0


@dataclass
class Share:
    line_ref: int
    earner_ref: int
    tier: int  # 0 for a team reward
    kind: str  # "sale" or "team_reward"
    base_fen: int
    rate_bp: int
    fixed_fen: int
    amount_fen: int
    explanation: dict


def floor_share(base_fen: int, rate_bp: int) -> int:
    return base_fen * rate_bp // 10000


def _rate(policy: Policy, earner: Earner, override: dict) -> tuple[int, str]:
    idx = earner.tier - 1
    if override.get("mode") == "rates":
        rates = override.get("rates_bp") or []
        return (rates[idx] if idx < len(rates) else 0), f"{override.get('source', 'item')} rates"
    if policy.rate_source == "levels":
        rates = earner.level_rates_bp
        return (rates[idx] if idx < len(rates) else 0), f"level {earner.level_name}"
    rates = policy.rates_bp
    return (rates[idx] if idx < len(rates) else 0), "plan rates"


def compute(*, policy: Policy, lines: Sequence[Line], earners: Sequence[Earner],
            leader: Leader | None = None) -> list[Share]:
    """The commissions of an order: one Share per line and tier that earns something."""
    shares: list[Share] = []
    earners = [e for e in earners if 1 <= e.tier <= policy.tiers]
    for line in lines:
        override = line.override or {}
        mode = override.get("mode")
        if mode == "none":
            continue
        for earner in earners:
            if mode == "fixed":
                if earner.tier != 1:
                    continue
                fixed = int(override.get("fixed_fen") or 0)
                amount = fixed * line.quantity
                if amount <= 0:
                    continue
                shares.append(Share(
                    line_ref=line.ref, earner_ref=earner.ref, tier=1, kind="sale",
                    base_fen=line.paid_fen, rate_bp=0, fixed_fen=fixed,
                    amount_fen=min(amount, line.paid_fen),
                    explanation={
                        "rule": f"fixed {fixed} fen per unit ({override.get('source', 'item')})",
                        "quantity": line.quantity, "plan_version": policy.version,
                    },
                ))
                continue
            rate, rule = _rate(policy, earner, override)
            bonus = earner.stage_bonus_bp if earner.tier == 1 else 0
            total_rate = rate + bonus
            amount = floor_share(line.paid_fen, total_rate)
            if amount <= 0:
                continue
            explanation = {"rule": rule, "base_fen": line.paid_fen, "rate_bp": rate,
                           "plan_version": policy.version,
                           "formula": f"floor({line.paid_fen} × {total_rate} / 10000)"}
            if bonus:
                explanation["stage_bonus_bp"] = bonus
                explanation["stage"] = earner.stage_label
            shares.append(Share(
                line_ref=line.ref, earner_ref=earner.ref, tier=earner.tier, kind="sale",
                base_fen=line.paid_fen, rate_bp=total_rate, fixed_fen=0, amount_fen=amount,
                explanation=explanation,
            ))
    if leader is not None and policy.team_rate_bp and policy.team_cap_fen:
        shares.extend(_team_rewards(policy, lines, leader))
    _apply_cap(policy, lines, shares)
    return [share for share in shares if share.amount_fen > 0]


def _team_rewards(policy: Policy, lines: Sequence[Line], leader: Leader) -> list[Share]:
    """The opt-in leader bonus on a team member's sale, capped per order."""
    room = policy.team_cap_fen
    shares = []
    for line in lines:
        if (line.override or {}).get("mode") == "none" or room <= 0:
            continue
        amount = min(floor_share(line.paid_fen, policy.team_rate_bp), room)
        if amount <= 0:
            continue
        room -= amount
        shares.append(Share(
            line_ref=line.ref, earner_ref=leader.ref, tier=0, kind="team_reward",
            base_fen=line.paid_fen, rate_bp=policy.team_rate_bp, fixed_fen=0,
            amount_fen=amount,
            explanation={"rule": f"team reward ({leader.level_name})",
                         "base_fen": line.paid_fen, "rate_bp": policy.team_rate_bp,
                         "cap_fen": policy.team_cap_fen, "plan_version": policy.version},
        ))
    return shares


def _apply_cap(policy: Policy, lines: Sequence[Line], shares: list[Share]) -> None:
    """Trim so the order's total stays within cap_bp of the goods paid: team rewards
    first, then the farthest tier."""
    cap = floor_share(sum(line.paid_fen for line in lines), policy.cap_bp)
    excess = sum(share.amount_fen for share in shares) - cap
    if excess <= 0:
        return
    order = sorted(shares, key=lambda s: (s.kind != "team_reward", -s.tier, -s.line_ref))
    for share in order:
        if excess <= 0:
            break
        cut = min(share.amount_fen, excess)
        share.amount_fen -= cut
        excess -= cut
        share.explanation["capped_by_fen"] = cut
        share.explanation["cap_bp"] = policy.cap_bp


def kept_after_refund(amount_fen: int, paid_fen: int, refunded_fen: int) -> int:
    """What a commission keeps when part of its line is refunded: pro rata to what the
    buyer kept, rounded down (a third of the units back reverses a third)."""
    if paid_fen <= 0 or refunded_fen >= paid_fen:
        return 0
    return amount_fen * (paid_fen - refunded_fen) // paid_fen
