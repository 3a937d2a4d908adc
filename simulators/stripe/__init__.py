"""A local Stripe Billing for development and tests: prices, Checkout Sessions with a hosted
page, subscriptions and their invoices, the billing portal, webhook endpoints and signed
events. Point the real `stripe` library at it with `stripe.api_base` (see README.md).
Production code never imports this package."""

from .app import StripeSimulator
from .config import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, StripeSimConfig
from .server import StripeSimServer, from_environment, serve_in_thread

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_WEBHOOK_SECRET",
    "StripeSimConfig",
    "StripeSimServer",
    "StripeSimulator",
    "from_environment",
    "serve_in_thread",
]
