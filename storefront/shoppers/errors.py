"""Stable error codes of shopper sign-in (phone codes, WeChat) and addresses.

Faces render them: the API as `{code, message, fields}` with `status`, the pages as a form
error or a friendly page. Callers catch the narrow class they can handle. Messages are lazy
translations: they are rendered in the language of the request that shows them.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, DomainError, InvalidInput, NotFound


class PhoneInvalid(InvalidInput):
    code = "phone_invalid"
    default_message = _("Enter a mainland China mobile number: 11 digits starting with 1.")

    def __init__(self, message: str | None = None, *, fields=None):
        super().__init__(message, fields=fields or {"phone": [message or self.default_message]})


class LoginCodeRefused(InvalidInput):
    """Base of every refused verification; the message says what to do next."""

    code = "login_code_refused"

    def __init__(self, message: str | None = None, *, fields=None):
        super().__init__(message, fields=fields or {"code": [message or self.default_message]})


class LoginCodeWrong(LoginCodeRefused):
    code = "login_code_wrong"
    default_message = _("This code is not right. Check the text message and try again.")


class LoginCodeExpired(LoginCodeRefused):
    code = "login_code_expired"
    default_message = _("This code has expired or was already used. Request a new code.")


class LoginCodeAttemptsExceeded(LoginCodeRefused):
    code = "login_code_attempts_exceeded"
    default_message = _("Too many wrong attempts: this code no longer works. Request a new code.")


class LoginCodeRateLimited(DomainError):
    code = "login_code_rate_limited"
    status = 429
    default_message = _("Too many codes requested. Please wait before asking again.")

    def __init__(self, message: str | None = None, *, retry_after: int = 60, fields=None):
        super().__init__(message, fields=fields)
        self.retry_after = retry_after


class LoginCodeUnavailable(DomainError):
    """No text-message sender is configured, or it failed to send."""

    code = "login_code_unavailable"
    status = 503
    default_message = _("Sign-in by text message is not available right now.")


class ShopperInactive(DomainError):
    code = "shopper_inactive"
    status = 403
    default_message = _("This account is disabled. Contact the mall for help.")


class WeChatSignInUnavailable(DomainError):
    code = "wechat_sign_in_unavailable"
    status = 503
    default_message = _("Sign-in with WeChat is not available in this mall.")


class WeChatStateInvalid(DomainError):
    """The `state` of an OAuth callback is not one this browser session was given (forged,
    replayed, expired or from another browser)."""

    code = "wechat_state_invalid"
    status = 403
    default_message = _("This WeChat sign-in link is not valid any more. Please start again.")


class WeChatSignInFailed(DomainError):
    """WeChat refused the exchange (bad or used code, 40029, 40163 …) or did not answer."""

    code = "wechat_sign_in_failed"
    status = 400
    default_message = _("WeChat could not confirm who you are. Please try again.")

    def __init__(self, message: str | None = None, *, errcode: int | None = None, fields=None):
        super().__init__(message, fields=fields)
        self.errcode = errcode


class WeChatUnreachable(WeChatSignInFailed):
    code = "wechat_unreachable"
    status = 502
    default_message = _("WeChat did not answer in time. Please try again in a moment.")


class AddressNotFound(NotFound):
    code = "address_not_found"
    default_message = _("Address not found.")


class AddressInvalid(InvalidInput):
    code = "address_invalid"
    default_message = _("Some address fields are not valid.")


class AddressLimitReached(Conflict):
    code = "address_limit_reached"
    default_message = _("You have saved the maximum number of addresses. Delete one first.")


class ConsentRequired(InvalidInput):
    """PIPL: nothing about a shopper is kept until they agree to the mall's texts."""

    code = "consent_required"
    default_message = _(
        "Please read and agree to the User Agreement and the Privacy Policy to sign in."
    )

    def __init__(self, message: str | None = None, *, fields=None):
        super().__init__(message, fields=fields or {"agree": [message or self.default_message]})


class ConsentOutdated(Conflict):
    """The texts changed after the shopper read them: they must read the new ones."""

    code = "consent_outdated"
    default_message = _(
        "The User Agreement or the Privacy Policy has just been updated. Please read it "
        "again and tick the box."
    )


class LegalTextInvalid(InvalidInput):
    code = "legal_text_invalid"
    default_message = _("This text cannot be saved.")
