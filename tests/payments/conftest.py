"""The platform wired to a WeChat simulator running in a thread, exactly as production is
wired to WeChat (settings only), plus helpers to build a mall that can take payments."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pytest
import redis
import requests
from django.db import connection

from control_plane import embedded
from simulators.wechat import SimulatorConfig, serve_in_thread
from simulators.wechat.keys import Credentials
from simulators.wechat.platform_env import platform_environment, sub_merchants
from tenants import services as tenant_services
from tenants import wechatpay_gateway
from tests.conftest import OWNER_PASSWORD, ensure_default_plan
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory
from tests.factories.shoppers import AddressFactory

FAST = {
    "time_scale": 0.0002,
    "duplicate_probability": 0.0,
    "processing_delay": 0.05,
    "callback_timeout": 3.0,
}


@pytest.fixture(scope="session")
def wechat_sim(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("wechat-sim-platform")
    server, base_url = serve_in_thread(SimulatorConfig.load_or_create(state_dir, **FAST))
    yield server, Path(state_dir)
    server.shutdown()


@pytest.fixture
def sim(wechat_sim):
    server, _ = wechat_sim
    yield server
    requests.post(f"{server.base_url}/_sim/settings", json=FAST, timeout=5).raise_for_status()
    server.simulator.callbacks.hold(False)


@pytest.fixture
def sim_credentials(wechat_sim) -> Credentials:
    return Credentials.load_or_create(wechat_sim[1])


@pytest.fixture
def sub_merchant(wechat_sim) -> dict:
    return sub_merchants(wechat_sim[1])[0]


@pytest.fixture
def wechat_settings(settings, wechat_sim):
    """Point WeChat settings at the simulator (what the environment does in production)."""
    server, state_dir = wechat_sim
    for name, value in platform_environment(state_dir, server.base_url).items():
        if name.endswith("_FILE"):
            setattr(settings, name.removesuffix("_FILE"), Path(value).read_text().strip())
        elif name.startswith("WECHAT_TEMPLATE_"):
            continue
        else:
            setattr(settings, name, value)
    settings.WECHAT_TEMPLATE_IDS = {
        "paid": "SIM_TPL_ORDER_PAID", "shipped": "SIM_TPL_ORDER_SHIPPED",
        "refunded": "SIM_TPL_REFUND_DONE",
    }
    wechatpay_gateway.client.cache_clear()
    yield settings
    wechatpay_gateway.client.cache_clear()


def test_user_openid(server, appid: str, key: str = "alice") -> str:
    users = requests.get(f"{server.base_url}/_sim/users", params={"appid": appid}, timeout=5)
    return next(user["openid"] for user in users.json() if user["key"] == key)


def bind_approved(merchant, sub_merchant: dict, **fields):
    """Claim the simulator's sub-merchant for `merchant` and approve it, as the owner and a
    platform admin would."""
    from core.actors import Actor
    from tenants.wechat_binding import binding_approve, binding_save

    binding = binding_save(merchant=merchant, actor=Actor.system(),
                           sub_mchid=sub_merchant["sub_mchid"],
                           sub_appid=sub_merchant["sub_appid"], **fields)
    return binding_approve(binding=binding, sub_mchid=binding.sub_mchid, actor=Actor.system())


@pytest.fixture
def paying_mall(wechat_settings, wechat_sim, sub_merchant):
    """Returns a function that readies a mall (active schema) with a bound sub-merchant, a
    SKU and a shopper signed in with WeChat; gives (merchant, sku, shopper, address)."""
    def _ready(merchant):
        connection.set_schema_to_public()
        bind_approved(merchant, sub_merchant)
        connection.set_tenant(merchant)
        ShippingTemplateFactory(default_fee_fen=0, free_above_fen=0)
        sku = SkuFactory(price_fen=2990, stock=20)
        address = AddressFactory()
        shopper = address.shopper
        shopper.wechat_openid = test_user_openid(
            wechat_sim[0], wechat_settings.WECHATPAY_SP_APPID
        )
        shopper.save()
        return merchant, sku, shopper, address

    return _ready


def wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    return condition()


def sim_pay(server, payment_or_prepay_id) -> dict:
    """Pay as the test shopper would at the simulator's cashier. Native and H5 payments
    carry the cashier URL (whose last segment is the prepay id) instead of a prepay id."""
    prepay_id = payment_or_prepay_id
    if not isinstance(prepay_id, str):
        payment = payment_or_prepay_id
        prepay_id = payment.prepay_id or (payment.code_url or payment.h5_url).split("?")[0].rstrip(
            "/"
        ).rsplit("/", 1)[1]
    response = requests.post(f"{server.base_url}/_sim/pay/{prepay_id}", json={}, timeout=5)
    response.raise_for_status()
    return response.json()


def sim_callbacks(server) -> list[dict]:
    return requests.get(f"{server.base_url}/_sim/callbacks", timeout=5).json()




@pytest.fixture
def live_mall(request, live_server, settings, paying_mall):
    """A committed mall ready to take payments whose notify URLs point at the live server,
    so WeChat's callbacks travel over HTTP. Its slug is the test module's LIVE_MALL_SLUG."""
    settings.PLATFORM_DOMAIN = f"localhost:{live_server.url.rsplit(':', 1)[1]}"
    settings.PLATFORM_SCHEME = "http"
    ensure_default_plan()
    slug = getattr(request.module, "LIVE_MALL_SLUG", "live-mall")
    merchant = tenant_services.merchant_signup(
        name=slug.replace("-", " ").title(), slug=slug, owner_email="o@example.com",
        password=OWNER_PASSWORD,
    ).merchant
    ready = paying_mall(merchant)
    yield ready
    connection.set_schema_to_public()


@contextlib.contextmanager
def redis_down():
    """Stop the embedded Redis for real (SHUTDOWN), then start it again on the same socket,
    so every client (cache, Celery) finds it where it was."""
    server = embedded._servers.get("redis")
    if server is None:
        pytest.skip("REDIS_URL points at a Redis this test run did not start")
    with contextlib.suppress(redis.RedisError):
        server.shutdown(save=True)
    wait_for(lambda: not os.path.exists(server.socket_file), timeout=10)
    assert not os.path.exists(server.socket_file)
    try:
        yield
    finally:
        server._start_redis()
        wait_for(lambda: _answers(server), timeout=10)


def _answers(server) -> bool:
    try:
        return redis.Redis(unix_socket_path=server.socket_file).ping()
    except redis.RedisError:
        return False
