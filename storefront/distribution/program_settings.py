"""A mall's distribution settings (DistributionSettings), changed by staff (DESIGN §6).

Each value is checked on its own (type and range) and against the others: buyers are
enrolled after a purchase only where anyone can also join without one, a customer's
protection does not outlast the binding, a withdrawal's fee leaves something to withdraw,
and the commission cap may not drop under what the active plan can pay.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.utils.translation import gettext as _

from storefront.distribution import plans
from storefront.distribution.errors import DistributionInvalid, PlanInvalid
from storefront.distribution.models import (
    BindingMode,
    DistributionSettings,
    JoinMode,
    SettlementMode,
)
from storefront.payments.transfers import MIN_TRANSFER_FEN

MAX_FEN = 2_000_000_000  # what a PositiveIntegerField holds, with room
# name: "bool", or (low, high) for a whole number, or the allowed values of a choice.
FIELDS: dict[str, object] = {
    "enabled": "bool",
    "join_mode": tuple(JoinMode.values),
    "enroll_buyers": "bool",
    "binding_mode": tuple(BindingMode.values),
    "binding_days": (1, 3650),
    "protection_days": (0, 3650),
    "bind_new_customers_only": "bool",
    "commission_cap_bp": (0, 10_000),
    "commission_hold_days": (0, 365),
    "settlement": tuple(SettlementMode.values),
    "statement_review_from_fen": (0, MAX_FEN),
    "withhold_income_tax": "bool",
    "withdrawal_min_fen": (MIN_TRANSFER_FEN, MAX_FEN),
    "withdrawal_fee_bp": (0, 5_000),
    "withdrawal_fee_min_fen": (0, MAX_FEN),
    "withdrawal_daily_count": (1, 50),
    "withdrawal_daily_fen": (MIN_TRANSFER_FEN, MAX_FEN),
    "withdrawal_review_from_fen": (0, MAX_FEN),
    "withdrawal_review_new_days": (0, 365),
}


def settings_as_dict(rules: DistributionSettings) -> dict:
    return {name: getattr(rules, name) for name in FIELDS}


def _field_error(name: str, value) -> str | None:
    spec = FIELDS[name]
    if spec == "bool":
        return None if isinstance(value, bool) else _("Say true or false.")
    if isinstance(spec, tuple) and isinstance(spec[0], str):
        return None if value in spec else _("Choose one of: %(values)s.") % {
            "values": ", ".join(spec)}
    low, high = spec
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return _("A whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
    return None


def _cross_errors(merged: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if merged["enroll_buyers"] and merged["join_mode"] != JoinMode.OPEN:
        errors["enroll_buyers"] = [_("Buyers are enrolled only in an open mall, where anyone "
                                     "can also join without buying (《禁止传销条例》 art. 7).")]
    if (merged["binding_mode"] == BindingMode.FIRST_TOUCH_DAYS
            and merged["protection_days"] > merged["binding_days"]):
        errors["protection_days"] = [_("The protection cannot outlast the binding "
                                       "(%(days)d days).") % {"days": merged["binding_days"]}]
    if merged["withdrawal_fee_min_fen"] >= merged["withdrawal_min_fen"]:
        errors["withdrawal_fee_min_fen"] = [_("The minimum fee must stay below the smallest "
                                              "withdrawal.")]
    if merged["withdrawal_daily_fen"] < merged["withdrawal_min_fen"]:
        errors["withdrawal_daily_fen"] = [_("The daily limit must allow at least the "
                                            "smallest withdrawal.")]
    return errors


def _plan_still_fits(rules: DistributionSettings) -> list[str]:
    plan = plans.active_plan()
    if plan is None:
        return []
    try:
        plans.plan_validate(plans.plan_fields(plan), rules=rules)
    except PlanInvalid as error:
        return [m for messages in error.fields.values() for m in messages]
    return []


def settings_update(*, data: Mapping) -> DistributionSettings:
    """Change some of the settings; every refusal names its field, nothing is saved
    unless all of it is right."""
    if not isinstance(data, Mapping):
        raise DistributionInvalid(fields={"settings": [_("Send the settings as an object.")]})
    errors = {key: [_("Unknown setting.")] for key in data if key not in FIELDS}
    for name in FIELDS.keys() & data.keys():
        problem = _field_error(name, data[name])
        if problem:
            errors[name] = [problem]
    if errors:
        raise DistributionInvalid(_("Some settings are not valid."), fields=errors)
    with transaction.atomic():
        rules = DistributionSettings.current()
        rules = DistributionSettings.objects.select_for_update().get(pk=rules.pk)
        merged = {**settings_as_dict(rules), **data}
        errors = _cross_errors(merged)
        for name, value in data.items():
            setattr(rules, name, value)
        if "commission_cap_bp" in data and not errors:
            problems = _plan_still_fits(rules)
            if problems:
                errors["commission_cap_bp"] = problems
        if errors:
            raise DistributionInvalid(_("Some settings are not valid."), fields=errors)
        rules.save(update_fields=[*data.keys(), "updated_at"])
    return rules
