"""Staff actions on the distribution programme, shared by the console's pages and the staff
API: each calls the distribution engine's service and writes its audit row in the same
transaction, so a refused or rolled-back action leaves no row and a done one always has one.
Refusals are the engine's DomainErrors, unchanged."""

from __future__ import annotations

from django.db import transaction

from core.actors import Actor
from merchant_console.audit import audit_record
from storefront.distribution import (
    compliance,
    levels,
    plans,
    program_settings,
    selectors,
    services,
    settlement,
    tree,
    withdrawals,
)
from storefront.distribution.errors import DistributionInvalid
from storefront.distribution.models import (
    CommissionPlan,
    ComplianceAlert,
    DistributionSettings,
    Distributor,
    Level,
    Statement,
    Withdrawal,
)

AREA = "distribution"


def _audit(user, action: str, target, detail: dict | None = None) -> None:
    audit_record(actor=user, area=AREA, action=action, target=str(target), detail=detail)


def _reason(reason) -> str:
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise DistributionInvalid(fields={"reason": ["Say why."]})
    if len(reason) > 200:
        raise DistributionInvalid(fields={"reason": ["At most 200 characters."]})
    return reason


# ------------------------------------------------------------------ distributors


def distributor_approve(*, user, distributor_id: int) -> Distributor:
    with transaction.atomic():
        distributor = services.distributor_approve(distributor_id=distributor_id,
                                                   staff_id=user.pk)
        _audit(user, "distributor.approve", distributor_id)
    return distributor


def distributor_freeze(*, user, distributor_id: int, reason: str) -> Distributor:
    reason = _reason(reason)
    with transaction.atomic():
        distributor = services.distributor_freeze(distributor_id=distributor_id,
                                                  staff_id=user.pk, reason=reason)
        _audit(user, "distributor.freeze", distributor_id, {"reason": reason})
    return distributor


def distributor_unfreeze(*, user, distributor_id: int, reason: str = "") -> Distributor:
    with transaction.atomic():
        distributor = services.distributor_unfreeze(distributor_id=distributor_id,
                                                    staff_id=user.pk)
        _audit(user, "distributor.unfreeze", distributor_id,
               {"reason": reason.strip()} if reason and reason.strip() else None)
    return distributor


def distributor_clear(*, user, distributor_id: int, reason: str) -> Distributor:
    reason = _reason(reason)
    with transaction.atomic():
        distributor = services.distributor_clear(distributor_id=distributor_id,
                                                 staff_id=user.pk, reason=reason)
        _audit(user, "distributor.clear", distributor_id, {"reason": reason})
    return distributor


def distributor_assign(*, user, shopper_id: int, recruiter_id: int | None) -> Distributor:
    """Make a shopper an active distributor, whatever the join mode."""
    shopper = selectors.shopper_for_input(shopper_id)
    recruiter = selectors.distributor_for_input(recruiter_id, field="recruiter_id")
    with transaction.atomic():
        distributor = services.distributor_assign(shopper=shopper, staff_id=user.pk,
                                                  recruiter=recruiter)
        _audit(user, "distributor.assign", distributor.pk,
               {"shopper_id": shopper.pk, "recruiter_id": recruiter_id})
    return distributor


def distributor_level_set(*, user, distributor_id: int, level_id: int | None,
                          reason: str) -> bool:
    reason = _reason(reason)
    selectors.distributor_get(distributor_id=distributor_id)
    level = selectors.level_for_input(level_id)
    with transaction.atomic():
        changed = services.level_set(distributor_id=distributor_id, level=level,
                                     actor=Actor.staff(user.pk), reason=f"staff: {reason}")
        if changed:
            _audit(user, "distributor.level", distributor_id,
                   {"level_id": level_id, "reason": reason})
    return changed


def distributor_recruiter_set(*, user, distributor_id: int, recruiter_id: int | None,
                              reason: str) -> Distributor:
    reason = _reason(reason)
    selectors.distributor_get(distributor_id=distributor_id)
    selectors.distributor_for_input(recruiter_id, field="recruiter_id")
    with transaction.atomic():
        before = Distributor.objects.values_list("recruiter_id", flat=True).get(
            pk=distributor_id)
        distributor = tree.recruiter_change(distributor_id=distributor_id,
                                            recruiter_id=recruiter_id,
                                            actor=Actor.staff(user.pk), reason=reason)
        if before != recruiter_id:
            _audit(user, "distributor.recruiter", distributor_id,
                   {"from": before, "to": recruiter_id, "reason": reason})
    return distributor


# ------------------------------------------------------------------ plans and levels


def plan_create(*, user, data: dict) -> CommissionPlan:
    with transaction.atomic():
        plan = plans.plan_create(data, staff_id=user.pk)
        _audit(user, "plan.create", plan.pk, {"version": plan.version,
                                              **plans.plan_fields(plan)})
    return plan


def plan_update(*, user, plan_id: int, data: dict) -> CommissionPlan:
    with transaction.atomic():
        plan = plans.plan_update(plan_id=plan_id, data=data)
        _audit(user, "plan.update", plan.pk, {"version": plan.version,
                                              **plans.plan_fields(plan)})
    return plan


def plan_activate(*, user, plan_id: int) -> CommissionPlan:
    with transaction.atomic():
        plan = plans.plan_activate(plan_id=plan_id, staff_id=user.pk)
        _audit(user, "plan.activate", plan.pk, {"version": plan.version})
    return plan


def level_create(*, user, data: dict) -> Level:
    with transaction.atomic():
        level = levels.level_create(data=data)
        _audit(user, "level.create", level.pk, _level_detail(level))
    return level


def level_update(*, user, level_id: int, data: dict) -> Level:
    with transaction.atomic():
        level = levels.level_update(level_id=level_id, data=data)
        _audit(user, "level.update", level.pk, _level_detail(level))
    return level


def level_delete(*, user, level_id: int) -> None:
    with transaction.atomic():
        level = levels.level_get(level_id=level_id)
        detail = _level_detail(level)
        levels.level_delete(level_id=level_id)
        _audit(user, "level.delete", level_id, detail)


def _level_detail(level: Level) -> dict:
    return {"name": level.name, "rank": level.rank, "rates_bp": level.rates_bp,
            "conditions": level.conditions, "match_all": level.match_all,
            "demote_monthly": level.demote_monthly}


def settings_update(*, user, data: dict) -> DistributionSettings:
    with transaction.atomic():
        before = program_settings.settings_as_dict(DistributionSettings.current())
        rules = program_settings.settings_update(data=data)
        after = program_settings.settings_as_dict(rules)
        changed = {name: [before[name], value] for name, value in after.items()
                   if before[name] != value}
        if changed:
            _audit(user, "settings.update", "distribution", changed)
    return rules


# ------------------------------------------------------------------ money (finance)


def statement_approve(*, user, statement_id: int) -> Statement:
    with transaction.atomic():
        statement = settlement.statement_approve(statement_id=statement_id, staff_id=user.pk)
        _audit(user, "statement.approve", statement_id,
               {"distributor_id": statement.distributor_id, "net_fen": statement.net_fen})
    return statement


def statement_hold(*, user, statement_id: int, reason: str) -> Statement:
    reason = _reason(reason)
    selectors.statement_get(statement_id=statement_id)
    with transaction.atomic():
        statement = settlement.statement_hold(statement_id=statement_id, staff_id=user.pk,
                                              reason=reason)
        _audit(user, "statement.hold", statement_id, {"reason": reason})
    return statement


def withdrawal_approve(*, user, withdrawal_id: int) -> Withdrawal:
    with transaction.atomic():
        withdrawal = withdrawals.withdrawal_approve(withdrawal_id=withdrawal_id,
                                                    staff_id=user.pk)
        _audit(user, "withdrawal.approve", withdrawal_id,
               {"distributor_id": withdrawal.distributor_id,
                "amount_fen": withdrawal.amount_fen})
    return withdrawal


def withdrawal_reject(*, user, withdrawal_id: int, reason: str) -> Withdrawal:
    reason = _reason(reason)
    selectors.withdrawal_get(withdrawal_id=withdrawal_id)
    with transaction.atomic():
        withdrawal = withdrawals.withdrawal_reject(withdrawal_id=withdrawal_id,
                                                   staff_id=user.pk, reason=reason)
        _audit(user, "withdrawal.reject", withdrawal_id,
               {"reason": reason, "amount_fen": withdrawal.amount_fen})
    return withdrawal


def alert_resolve(*, user, alert_id: int, note: str) -> ComplianceAlert:
    with transaction.atomic():
        alert = compliance.alert_resolve(alert_id=alert_id, staff_id=user.pk, note=note)
        _audit(user, "alert.resolve", alert_id, {"kind": alert.kind, "note": note.strip()})
    return alert
