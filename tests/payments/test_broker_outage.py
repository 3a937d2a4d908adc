"""The broker (the embedded Redis) goes down while a shopper checks out and pays: every
request still answers normally, and nothing decided in those transactions is lost — the
messages wait in the outbox and go out once Redis is back, through the relay and a real
Celery worker, down to the shopper's "paid" message reaching WeChat (the simulator)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os

import pytest
import redis
import requests
from celery.contrib.testing.worker import start_worker

from control_plane import embedded
from control_plane.celery import app as celery_app
from core import outbox
from core.models import OutboxMessage
from storefront.orders.models import Order, OrderStatus
from storefront.payments.models import Payment
from storefront.web.shopper_session import SESSION_KEY
from tests.conftest import host_client
from tests.payments.conftest import sim_callbacks, sim_pay, wait_for

pytestmark = pytest.mark.usefixtures("committed_cleanup")
LIVE_MALL_SLUG = "outage-mall"


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


def test_checkout_and_payment_survive_a_broker_outage(live_mall, sim):
    merchant, sku, shopper, address = live_mall
    client = host_client(merchant)
    session = client.session
    session[SESSION_KEY] = shopper.pk
    session.save()
    celery_app.control.purge()
    logged = len(sim_callbacks(sim))

    with redis_down():
        placed = client.post(
            "/api/v1/orders/",
            json.dumps({"items": [{"sku_id": sku.pk, "quantity": 1}], "address_id": address.pk}),
            content_type="application/json",
        )
        assert placed.status_code == 201, placed.content
        number = placed.json()["number"]
        started = client.post(
            "/api/v1/payments/", json.dumps({"order_number": number, "channel": "native"}),
            content_type="application/json",
        )
        assert started.status_code == 201, started.content
        sim_pay(sim, Payment.objects.get(order__number=number))
        # WeChat's signed callback reaches the live server and is answered 200, not 500.
        assert wait_for(lambda: Order.objects.get(number=number).status == OrderStatus.PAID)
        delivered = wait_for(lambda: [
            c for c in sim_callbacks(sim)[logged:] if c["url"].endswith("/wechat/notify/")
        ])
        assert [c["status_code"] for c in delivered] == [200]
        held = sorted(OutboxMessage.objects.values_list("task", flat=True))
        assert held == [
            "storefront.notifications.tasks.notify_order_event",
            "storefront.orders.tasks.cancel_unpaid_order",
        ]
        assert all(m.attempts == 1 for m in OutboxMessage.objects.all())
        assert outbox.relay(min_age=dt.timedelta(0)) == 0  # still down: nothing lost either
        assert OutboxMessage.objects.count() == 2

    # Redis is back: the beat's relay sends what waited, a worker runs it.
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        assert outbox.relay(min_age=dt.timedelta(0)) == 2
        sent = wait_for(lambda: [
            m for m in requests.get(f"{sim.base_url}/_sim/messages", timeout=5).json()
            if m.get("touser") == shopper.wechat_openid and number in str(m)
        ])
    assert OutboxMessage.objects.count() == 0
    assert sent and sent[-1]["template_id"] == "SIM_TPL_ORDER_PAID"
    assert Order.objects.get(number=number).status == OrderStatus.PAID
