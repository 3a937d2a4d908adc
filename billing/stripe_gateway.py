"""The platform's Stripe client: the real `stripe` library, pointed by settings at Stripe or
at the local stand-in (simulators/stripe). Nothing else in the project talks to Stripe.

Why a thin client and not dj-stripe: the platform needs one customer per merchant, a mirror
of its subscription, its invoices and five calls (prices, customer, Checkout, portal,
subscription update). dj-stripe mirrors dozens of Stripe models into the shared schema and
re-syncs them from the API as events arrive, so every one of those calls would have to be
served by the stand-in, and their tables migrated with every deploy, for nothing the
product shows."""

from __future__ import annotations

import functools

import stripe
from django.conf import settings

from billing.errors import BillingNotConfigured, BillingUnavailable


@functools.cache
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    # Retries on connection errors and 5xx reuse the request's idempotency key.
    return stripe.StripeClient(
        api_key, base_addresses={"api": api_base}, max_network_retries=2
    )


def client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise BillingNotConfigured()
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


def unavailable(exc: stripe.StripeError) -> BillingUnavailable:
    """Stripe's error as the refusal a merchant sees (its own message stays in the logs)."""
    return BillingUnavailable()


def is_transient(exc: stripe.StripeError) -> bool:
    """Errors worth retrying later (network, Stripe's 5xx, rate limits), as opposed to a
    request Stripe refuses on its merits."""
    return isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)) or (
        (exc.http_status or 0) >= 500
    )


def construct_event(payload: bytes, signature: str) -> stripe.Event:
    """Verify a webhook's `Stripe-Signature` (HMAC-SHA256, timestamp within the tolerance)."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise BillingNotConfigured()
    return stripe.Webhook.construct_event(
        payload, signature, settings.STRIPE_WEBHOOK_SECRET,
        tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
    )
