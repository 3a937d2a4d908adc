"""Stable error codes of merchant onboarding and lifecycle."""

from core.errors import Conflict, DomainError, InvalidInput


class SignupInvalid(InvalidInput):
    code = "signup_invalid"


class SlugTaken(Conflict):
    code = "slug_taken"
    default_message = "This shop address is already taken."


class IllegalStatusTransition(Conflict):
    code = "illegal_status_transition"


class PlatformNotReady(DomainError):
    code = "platform_not_ready"
    status = 503
    default_message = "Signups are briefly unavailable; please try again in a minute."


class ProfileInvalid(InvalidInput):
    code = "mall_profile_invalid"


class MallClosed(Conflict):
    code = "mall_closed"
    default_message = "This mall is closed: its profile can no longer be changed."
