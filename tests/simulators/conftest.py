"""One WeChat simulator for the whole session (keys are generated once), served on a free
port, with tiny time scales so retries and processing delays take milliseconds."""

from __future__ import annotations

import json

import pytest
import requests

from simulators.wechat import CREDENTIALS_FILE, SimulatorConfig, serve_in_thread
from simulators.wechat.clients import wechatpay_client

from .wechat_helpers import CallbackReceiver

FAST = {
    "time_scale": 0.0002,  # WeChat's 15 s first retry becomes 3 ms
    "duplicate_probability": 0.0,
    "processing_delay": 0.05,
    "callback_timeout": 2.0,
    "profitsharing_notify_url": None,
}


@pytest.fixture(scope="session")
def sim_state_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("wechat-sim")


@pytest.fixture(scope="session")
def simulator(sim_state_dir):
    server, _ = serve_in_thread(SimulatorConfig.load_or_create(sim_state_dir, **FAST))
    yield server
    server.shutdown()


@pytest.fixture
def sim(simulator):
    """The simulator, its runtime settings and callback hold put back after the test."""
    yield simulator
    requests.post(f"{simulator.base_url}/_sim/settings", json=FAST, timeout=5).raise_for_status()
    simulator.simulator.callbacks.hold(False)


@pytest.fixture(scope="session")
def base_url(simulator) -> str:
    return simulator.base_url


@pytest.fixture(scope="session")
def credentials(simulator, sim_state_dir) -> dict:
    return json.loads((sim_state_dir / CREDENTIALS_FILE).read_text())


@pytest.fixture(scope="session")
def wxpay(simulator, sim_state_dir):
    """wechatpayv3 in partner + public-key mode against the simulator (responses are
    signature-checked by the library on every 2xx)."""
    return wechatpay_client(sim_state_dir, simulator.base_url)


@pytest.fixture(scope="session")
def receiver():
    receiver = CallbackReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def users(base_url, credentials) -> dict[str, dict]:
    """Test users by key, with their openids under the provider's official account."""
    answer = requests.get(
        f"{base_url}/_sim/users", params={"appid": credentials["sp_appid"]}, timeout=5
    )
    return {user["key"]: user for user in answer.json()}


@pytest.fixture(scope="session")
def sub_merchant(credentials) -> dict:
    return credentials["sub_merchants"][0]


@pytest.fixture(scope="session")
def sink(receiver) -> str:
    """A notify URL that acknowledges everything, for tests not about callbacks (callbacks
    must never leave this machine)."""
    return receiver.url("/notify/sink")
