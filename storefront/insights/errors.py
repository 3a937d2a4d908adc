from core.errors import DomainError


class InsightsInvalid(DomainError):
    code = "invalid_period"
    default_message = "Choose a period: today, 7d or 30d."
