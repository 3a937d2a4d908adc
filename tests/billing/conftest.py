"""The platform wired to the Stripe stand-in running in a thread, exactly as production is
wired to Stripe (settings only): the secret key, the webhook signing secret and the API base.

`stripe_sim` is one stand-in for the session; `stripe_settings` points the settings at it,
sends every event to `stripe_webhook_url` (None by default: override that fixture, e.g.
with a live server's `/billing/stripe/webhook/`, or call
`stripe_sim.simulator.set_webhook_url(url)`), and forgets all Stripe state after the test.
A test without a live server can post an event itself:
`body, signature = stripe_sim.simulator.signed_event(event_id)`."""

from __future__ import annotations

import pytest

from simulators.stripe import StripeSimConfig, serve_in_thread

STRIPE_FAST = {"time_scale": 0.00005, "duplicate_probability": 0.0}


@pytest.fixture(scope="session")
def stripe_sim():
    server, _ = serve_in_thread(StripeSimConfig(**STRIPE_FAST))
    yield server
    server.shutdown()


@pytest.fixture
def stripe_webhook_url() -> str | None:
    return None


@pytest.fixture
def stripe_settings(settings, stripe_sim, stripe_webhook_url):
    config = stripe_sim.simulator.config
    settings.STRIPE_SECRET_KEY = config.api_key
    settings.STRIPE_WEBHOOK_SECRET = config.webhook_secret
    settings.STRIPE_API_BASE = stripe_sim.base_url
    stripe_sim.simulator.set_webhook_url(stripe_webhook_url)
    yield settings
    stripe_sim.simulator.reset()
