"""Stripe's error shape, `{"error": {"type", "message", "code"?, "param"?}}`, as an
exception the services raise and the app renders with its HTTP status."""

from __future__ import annotations


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
    ):
        super().__init__(f"{status} {type_}: {message}")
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code

    def body(self) -> dict:
        error = {"type": self.type, "message": self.message}
        for name in ("code", "param", "decline_code"):
            if getattr(self, name):
                error[name] = getattr(self, name)
        return {"error": error}


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    """400 invalid_request_error, naming the parameter when there is one."""
    if code is None and param is not None:
        code = "parameter_invalid"
    return StripeError(400, "invalid_request_error", message, code=code, param=param)


def missing_param(param: str) -> StripeError:
    return StripeError(
        400,
        "invalid_request_error",
        f"Missing required param: {param}.",
        code="parameter_missing",
        param=param,
    )


def no_such(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(
        404,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def card_declined(message: str = "Your card was declined.") -> StripeError:
    return StripeError(
        402, "card_error", message, code="card_declined", decline_code="generic_decline"
    )
