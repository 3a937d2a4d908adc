"""Serving the stand-in: in a background thread for tests, or under gunicorn."""

from __future__ import annotations

import dataclasses
import os
import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import StripeSimulator
from .config import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, StripeSimConfig


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request: tests make hundreds."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class StripeSimServer:
    """A running stand-in: `simulator` is the WSGI app (its `state`, `config` and
    `set_webhook_url`), `shutdown()` stops the HTTP server and the webhook workers."""

    def __init__(self, simulator: StripeSimulator, http: BaseWSGIServer, thread: threading.Thread):
        self.simulator = simulator
        self.http = http
        self.thread = thread

    @property
    def base_url(self) -> str:
        return f"http://{self.http.host}:{self.http.port}"

    def shutdown(self) -> None:
        self.http.shutdown()
        self.thread.join(timeout=5)
        self.http.server_close()
        self.simulator.close()


def serve_in_thread(
    config: StripeSimConfig, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True
) -> tuple[StripeSimServer, str]:
    """Start the stand-in on a daemon thread; port 0 picks a free port. The public URL
    (of the Checkout, portal and invoice pages) defaults to the bound address. Works on a
    copy of `config`: change settings through `server.simulator.config`."""
    config = dataclasses.replace(config)
    http = make_server(host, port, None, threaded=True,
                       request_handler=_QuietHandler if quiet else None)
    base_url = f"http://{host}:{http.port}"
    config.public_url = (config.public_url or base_url).rstrip("/")
    simulator = StripeSimulator(config)
    http.app = simulator
    thread = threading.Thread(target=http.serve_forever, name="stripe-sim-http", daemon=True)
    thread.start()
    return StripeSimServer(simulator, http, thread), base_url


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
