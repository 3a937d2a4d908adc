"""Serving the simulator: in a background thread for tests, or under gunicorn."""

from __future__ import annotations

import dataclasses
import os

from ..serving import ThreadedServer, bind, start
from .accounts import SubMerchantSpec
from .app import WeChatSimulator
from .config import SimulatorConfig

# The running simulator: `simulator` is the WSGI app (its `state` and `config` are there to
# inspect), `shutdown()` stops the HTTP server and the background workers.
SimulatorServer = ThreadedServer


def serve_in_thread(
    config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True
) -> tuple[SimulatorServer, str]:
    """Start the simulator on a daemon thread; port 0 picks a free port. The public URL
    (used in h5_url, code_url and bill download links) defaults to the bound address.
    Works on a copy of `config`: change settings through `server.simulator.config`."""
    config = dataclasses.replace(config)
    http, base_url = bind(host, port, quiet=quiet)
    config.public_url = config.public_url or base_url
    simulator = WeChatSimulator(config)
    simulator.publish_credentials()
    return start(simulator, http, "wechat-sim-http"), base_url


def from_environment() -> WeChatSimulator:
    """The WSGI app for gunicorn, configured from the environment:
    `WECHAT_SIM_STATE_DIR`, `WECHAT_SIM_PUBLIC_URL` (both required), and optionally
    `WECHAT_SIM_SUB_MCHIDS` (comma-separated), `WECHAT_SIM_TIME_SCALE`,
    `WECHAT_SIM_DUPLICATE_PROBABILITY`, `WECHAT_SIM_PROCESSING_DELAY`.
    State lives in the process, so run exactly one worker (threads are fine):
    `gunicorn -w 1 --threads 8 -b 127.0.0.1:8001 'simulators.wechat.server:from_environment()'`."""
    settings = {
        name: float(os.environ[variable])
        for name, variable in (
            ("time_scale", "WECHAT_SIM_TIME_SCALE"),
            ("duplicate_probability", "WECHAT_SIM_DUPLICATE_PROBABILITY"),
            ("processing_delay", "WECHAT_SIM_PROCESSING_DELAY"),
        )
        if variable in os.environ
    }
    sub_mchids = os.environ.get("WECHAT_SIM_SUB_MCHIDS")
    config = SimulatorConfig.load_or_create(
        os.environ["WECHAT_SIM_STATE_DIR"],
        public_url=os.environ["WECHAT_SIM_PUBLIC_URL"].rstrip("/"),
        sub_merchants=(
            [SubMerchantSpec(s.strip()) for s in sub_mchids.split(",") if s.strip()]
            if sub_mchids
            else None
        ),
        **settings,
    )
    simulator = WeChatSimulator(config)
    simulator.publish_credentials()
    return simulator
