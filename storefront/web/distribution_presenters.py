"""How the distributor centre words its figures, shared by its pages and its API: state
labels, a commission's explanation in a sentence, rates as percentages, yuan typed by a
shopper turned into integer fen (the only place a decimal amount is read)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from storefront.distribution.centre import mask_order_number
from storefront.distribution.models import (
    Commission,
    CommissionKind,
    CommissionStatus,
    DistributorStatus,
    WithdrawalStatus,
)
from storefront.templatetags.money import yuan

COMMISSION_STATUS_LABELS = {
    CommissionStatus.PENDING: gettext_lazy("Pending (order paid)"),
    CommissionStatus.FROZEN: gettext_lazy("Frozen (after-sales window)"),
    CommissionStatus.AVAILABLE: gettext_lazy("Available"),
    CommissionStatus.SETTLED: gettext_lazy("Settled"),
    CommissionStatus.REVERSED: gettext_lazy("Reversed (refunded)"),
}
DISTRIBUTOR_STATUS_LABELS = {
    DistributorStatus.PENDING: gettext_lazy("Waiting for the mall's approval"),
    DistributorStatus.ACTIVE: gettext_lazy("Active"),
    DistributorStatus.FROZEN: gettext_lazy("Frozen by the mall"),
    DistributorStatus.CLEARED: gettext_lazy("Closed"),
}
WITHDRAWAL_STATUS_LABELS = {
    WithdrawalStatus.REVIEWING: gettext_lazy("Waiting for review"),
    WithdrawalStatus.TRANSFERRING: gettext_lazy("Being transferred"),
    WithdrawalStatus.SUCCEEDED: gettext_lazy("Paid to your WeChat balance"),
    WithdrawalStatus.REJECTED: gettext_lazy("Rejected, returned to your balance"),
    WithdrawalStatus.FAILED: gettext_lazy("Failed, returned to your balance"),
}
FIGURE_LABELS = {
    "monthly_gmv_fen": gettext_lazy("Sales you brought this month"),
    "total_gmv_fen": gettext_lazy("Sales you brought in total"),
    "own_purchases_fen": gettext_lazy("Your own purchases"),
    "direct_recruits": gettext_lazy("Distributors you recruited"),
    "team_sales_fen": gettext_lazy("Your team's sales"),
}

_YUAN = re.compile(r"^\s*[¥￥]?\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$")


class YuanInvalid(ValueError):
    pass


def parse_yuan(text: str) -> int:
    """"12.3" → 1230 fen, with integer arithmetic only (no float ever holds the amount).
    At most two decimals; anything else is YuanInvalid."""
    match = _YUAN.match(text or "")
    if match is None:
        raise YuanInvalid(_("Enter an amount in yuan, e.g. 12.50."))
    whole, cents = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(cents)


def percent(rate_bp: int) -> str:
    """Basis points as a percentage without a float: 1250 → "12.5%"."""
    whole, rest = divmod(int(rate_bp), 100)
    text = f"{whole}.{rest:02d}".rstrip("0").rstrip(".")
    return f"{text}%"


def tier_label(commission: Commission) -> str:
    if commission.kind == CommissionKind.TEAM_REWARD:
        return _("Team reward")
    return {
        1: _("Your customer's order"),
        2: _("Order of your recruit's customer"),
        3: _("Order in your team (tier 3)"),
    }.get(commission.tier, _("Tier %(tier)s") % {"tier": commission.tier})


def rule_label(rule: str) -> str:
    """The engine's rule names (English, stored with each commission) in the reader's
    language."""
    rule = rule or ""
    if rule == "plan rates":
        return _("the plan's rates")
    if rule.startswith("level "):
        return _("rate of level %(level)s") % {"level": rule.removeprefix("level ")}
    if rule.endswith(" rates"):
        return _("this item's own rates")
    if rule.startswith("fixed "):
        return _("a fixed amount for this item")
    if rule.startswith("team reward"):
        return _("team reward")
    return rule


def commission_explanation(commission: Commission) -> str:
    """E.g. "¥99.00 × 10% (the plan's rates), plan v3"."""
    info = commission.explanation or {}
    if commission.fixed_fen:
        text = _("¥%(fixed)s × %(quantity)s (%(rule)s)") % {
            "fixed": yuan(commission.fixed_fen), "quantity": info.get("quantity", 1),
            "rule": rule_label(info.get("rule", "fixed")),
        }
    else:
        text = _("¥%(base)s × %(rate)s (%(rule)s)") % {
            "base": yuan(commission.base_fen), "rate": percent(commission.rate_bp),
            "rule": rule_label(info.get("rule", "")),
        }
    if info.get("stage_bonus_bp"):
        text += _(", with a stage bonus of %(rate)s") % {"rate": percent(info["stage_bonus_bp"])}
    if info.get("capped_by_fen"):
        text += _(", less ¥%(cut)s over the mall's cap") % {"cut": yuan(info["capped_by_fen"])}
    if commission.reversed_fen:
        text += _(", ¥%(amount)s reversed by a refund") % {"amount": yuan(commission.reversed_fen)}
    return text + _(", plan v%(version)s") % {"version": commission.plan_version}


@dataclass(frozen=True)
class CommissionRow:
    id: int
    order_number: str  # masked
    title: str
    tier: int
    tier_label: str
    status: str
    status_label: str
    amount_fen: int
    reversed_fen: int
    kept_fen: int
    base_fen: int
    rate_bp: int
    fixed_fen: int
    plan_version: int
    explanation: str
    rule: str
    earned_at: object


def commission_row(commission: Commission) -> CommissionRow:
    return CommissionRow(
        id=commission.pk, order_number=mask_order_number(commission.order.number),
        title=commission.order_line.title, tier=commission.tier,
        tier_label=tier_label(commission), status=commission.status,
        status_label=str(COMMISSION_STATUS_LABELS.get(commission.status, commission.status)),
        amount_fen=commission.amount_fen, reversed_fen=commission.reversed_fen,
        kept_fen=commission.amount_fen - commission.reversed_fen,
        base_fen=commission.base_fen, rate_bp=commission.rate_bp,
        fixed_fen=commission.fixed_fen, plan_version=commission.plan_version,
        explanation=commission_explanation(commission),
        rule=(commission.explanation or {}).get("rule", ""), earned_at=commission.earned_at,
    )


# The distribution engine words its refusals in English with amounts in fen (they are
# the API's messages too). A shopper's page says them in the shopper's language, in yuan:
# each known message, as a pattern whose groups are fen ("f") or counts ("n").
_ENGINE_MESSAGES = [
    (r"The least you can withdraw is (\d+) fen\.", "f",
     gettext_lazy("The least you can withdraw is ¥%(a)s.")),
    (r"At least (\d+) fen\.", "f", gettext_lazy("At least ¥%(a)s.")),
    (r"You can withdraw at most (-?\d+) fen\.", "f",
     gettext_lazy("You can withdraw at most ¥%(a)s.")),
    (r"Over your balance of (-?\d+) fen\.", "f", gettext_lazy("Over your balance of ¥%(a)s.")),
    (r"At most (\d+) withdrawals a day: try tomorrow\.", "n",
     gettext_lazy("At most %(a)s withdrawals a day: try tomorrow.")),
    (r"At most (\d+) fen a day can be withdrawn\.", "f",
     gettext_lazy("At most ¥%(a)s a day can be withdrawn.")),
    (r"Today's limit is (\d+) fen\.", "f", gettext_lazy("Today's limit is ¥%(a)s.")),
    (r"After the fee of (\d+) fen, less than WeChat's minimum of (\d+) fen would arrive\.",
     "ff", gettext_lazy("After the fee of ¥%(a)s, less than WeChat's minimum of ¥%(b)s "
                        "would arrive.")),
    (r"Too small after the fee\.", "", gettext_lazy("Too small after the fee.")),
    (r"The amount must be more than zero\.", "", gettext_lazy("The amount must be more than "
                                                              "zero.")),
    (r"More than zero\.", "", gettext_lazy("More than zero.")),
    (r"From ¥2,000 WeChat needs your real name to pay you\.", "",
     gettext_lazy("From ¥2,000 WeChat needs your real name to pay you.")),
    (r"Your real name, as on your ID\.", "", gettext_lazy("Your real name, as on your ID.")),
    (r"At most (\d+) characters\.", "n", gettext_lazy("At most %(a)s characters.")),
    (r"A frozen or closed distributor account cannot withdraw\.", "",
     gettext_lazy("A frozen or closed distributor account cannot withdraw.")),
    (r"Sign in with WeChat once: withdrawals go to the WeChat balance of that account\.", "",
     gettext_lazy("Sign in with WeChat once: withdrawals go to the WeChat balance of that "
                  "account.")),
    (r"This mall does not run a distribution programme\.", "",
     gettext_lazy("This mall does not run a distribution programme.")),
    (r"Your distributor account was closed by the mall\.", "",
     gettext_lazy("Your distributor account was closed by the mall.")),
    (r"This invite code is not valid\.", "", gettext_lazy("This invite code is not valid.")),
    (r"That is your own code\.", "", gettext_lazy("That is your own code.")),
    (r"Distributors of this mall are added by the mall's staff\.", "",
     gettext_lazy("Distributors of this mall are added by the mall's staff.")),
    (r"This mall takes distributors by invitation: use an invite link\.", "",
     gettext_lazy("This mall takes distributors by invitation: use an invite link.")),
    (r"An invite code is required\.", "", gettext_lazy("An invite code is required.")),
    (r"Some fields are not valid\.", "", gettext_lazy("Some fields are not valid.")),
    (r"Your invite link and posters work once your distributor account is active\.", "",
     gettext_lazy("Your invite link and posters work once your distributor account is "
                  "active.")),
]
_ENGINE_PATTERNS = [(re.compile(f"^{pattern}$"), kinds, template)
                    for pattern, kinds, template in _ENGINE_MESSAGES]


def engine_message(message: str) -> str:
    """An engine refusal in the reader's language with amounts in yuan; a message not
    known here is shown as the engine wrote it."""
    for pattern, kinds, template in _ENGINE_PATTERNS:
        match = pattern.match(message or "")
        if match is None:
            continue
        values = {}
        for name, kind, value in zip("ab", kinds, match.groups(), strict=False):
            values[name] = yuan(int(value)) if kind == "f" else value
        return str(template) % values if values else str(template)
    return message
