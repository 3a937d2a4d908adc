"""Refusals of the billing services (core.errors), each with a stable code."""

from django.utils.translation import gettext_lazy

from core.errors import Conflict, DomainError, InvalidInput


class BillingInvalid(InvalidInput):
    code = "billing_invalid"


class BillingConflict(Conflict):
    code = "billing_conflict"


class BillingUnavailable(DomainError):
    """Stripe could not be reached or answered with an error of its own: nothing changed
    on our side, the merchant may try again."""

    code = "billing_unavailable"
    status = 503
    default_message = gettext_lazy(
        "Payments by card are unavailable for a moment. Please try again shortly."
    )


class BillingNotConfigured(DomainError):
    code = "billing_not_configured"
    status = 503
    default_message = gettext_lazy("Online subscription is not set up on this platform yet.")


class WebhookRefused(InvalidInput):
    """A webhook whose signature does not verify, or is older than the tolerance."""

    code = "webhook_refused"
    default_message = "The event's signature does not verify."
