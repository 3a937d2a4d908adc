"""Serving the stand-in: in a background thread for tests, or under gunicorn."""

from __future__ import annotations

import dataclasses
import os

from ..serving import ThreadedServer, bind, start
from .app import StripeSimulator
from .config import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, StripeSimConfig

# The running stand-in: `simulator` is the WSGI app (its `state`, `config` and
# `set_webhook_url`), `shutdown()` stops the HTTP server and the webhook workers.
StripeSimServer = ThreadedServer


def serve_in_thread(
    config: StripeSimConfig, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True
) -> tuple[StripeSimServer, str]:
    """Start the stand-in on a daemon thread; port 0 picks a free port. The public URL
    (of the Checkout, portal and invoice pages) defaults to the bound address. Works on a
    copy of `config`: change settings through `server.simulator.config`."""
    config = dataclasses.replace(config)
    http, base_url = bind(host, port, quiet=quiet)
    config.public_url = (config.public_url or base_url).rstrip("/")
    return start(StripeSimulator(config), http, "stripe-sim-http"), base_url


def from_environment() -> StripeSimulator:
    """The WSGI app for gunicorn, configured from the environment: `STRIPE_SIM_PUBLIC_URL`
    (required), and optionally `STRIPE_SIM_API_KEY`, `STRIPE_SIM_WEBHOOK_URL`,
    `STRIPE_SIM_WEBHOOK_SECRET`, `STRIPE_SIM_TIME_SCALE`, `STRIPE_SIM_STATE_FILE` (kept
    across restarts). State lives in the process, so run exactly one worker (threads are fine):
    `gunicorn -w 1 --threads 8 -b 127.0.0.1:8002 'simulators.stripe.server:from_environment()'`."""
    config = StripeSimConfig(
        api_key=os.environ.get("STRIPE_SIM_API_KEY") or DEFAULT_API_KEY,
        webhook_url=os.environ.get("STRIPE_SIM_WEBHOOK_URL") or None,
        webhook_secret=os.environ.get("STRIPE_SIM_WEBHOOK_SECRET") or DEFAULT_WEBHOOK_SECRET,
        public_url=os.environ["STRIPE_SIM_PUBLIC_URL"].rstrip("/"),
        time_scale=float(os.environ.get("STRIPE_SIM_TIME_SCALE", "1.0")),
        state_file=os.environ.get("STRIPE_SIM_STATE_FILE") or None,
    )
    return StripeSimulator(config)
