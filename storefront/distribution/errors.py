"""Stable error codes of the distribution engine."""

from core.errors import Conflict, InvalidInput, NotFound


class DistributionInvalid(InvalidInput):
    code = "distribution_invalid"


class DistributionNotFound(NotFound):
    code = "distribution_not_found"
    default_message = "No such distributor."


class JoinNotAllowed(Conflict):
    code = "join_not_allowed"
    default_message = "This mall does not take distributors this way."


class RecruitmentCycle(Conflict):
    code = "recruitment_cycle"
    default_message = "A distributor cannot be recruited by someone in their own team."


class IllegalDistributionTransition(Conflict):
    code = "illegal_distribution_transition"


class PlanInvalid(InvalidInput):
    """A commission plan that may not be saved; `fields` says why, rule by rule."""

    code = "plan_invalid"
    default_message = "The commission plan cannot be saved."


class WithdrawalInvalid(InvalidInput):
    code = "withdrawal_invalid"


class WithdrawalNotAllowed(Conflict):
    code = "withdrawal_not_allowed"


class LevelNotFound(NotFound):
    code = "level_not_found"
    default_message = "No such level."


class LevelInUse(Conflict):
    code = "level_in_use"
    default_message = "This level is in use."


class AlertNotFound(NotFound):
    code = "alert_not_found"
    default_message = "No such compliance alert."


class DistributorNotActive(Conflict):
    """A pending, frozen or closed distributor asked for something only an active one has
    (an invite link, a poster)."""

    code = "distributor_not_active"
    default_message = "Your distributor account is not active."
