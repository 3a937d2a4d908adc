"""The broker (the embedded Redis) goes down while a shopper checks out and pays: every
request still answers normally, and nothing decided in those transactions is lost — the
messages wait in the outbox and go out once Redis is back, through the relay and a real
Celery worker, down to the shopper's "paid" message reaching WeChat (the simulator)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from control_plane.celery import app as celery_app
from core import outbox
from core.models import OutboxMessage
from storefront.orders.models import Order, OrderStatus
from storefront.payments.models import Payment
from storefront.payments.tasks import cancel_overdue_orders
from storefront.web.shopper_session import SESSION_KEY
from tests.conftest import host_client
from tests.payments.conftest import redis_down, sim_callbacks, sim_pay, wait_for

pytestmark = pytest.mark.usefixtures("committed_cleanup")
LIVE_MALL_SLUG = "outage-mall"


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
        # The paid message waits in the outbox. The order's auto-cancel timer was not
        # sent either, and needs no row: the per-minute sweep cancels overdue orders.
        held = OutboxMessage.objects.get()
        assert (held.task, held.kwargs, held.attempts) == (
            "storefront.notifications.tasks.notify_order_event",
            {"order_id": Order.objects.get(number=number).pk, "event": "paid"}, 1,
        )
        assert outbox.relay(min_age=dt.timedelta(0)) == 0  # still down: nothing lost either
        assert OutboxMessage.objects.count() == 1
        unpaid = client.post(
            "/api/v1/orders/",
            json.dumps({"items": [{"sku_id": sku.pk, "quantity": 1}], "address_id": address.pk}),
            content_type="application/json",
        )
        assert unpaid.status_code == 201, unpaid.content
        Order.objects.filter(number=unpaid.json()["number"]).update(
            pay_deadline=timezone.now() - dt.timedelta(seconds=1)
        )
        assert cancel_overdue_orders() == 1

    # Redis is back: the beat's relay sends what waited, a worker runs it.
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        assert outbox.relay(min_age=dt.timedelta(0)) == 1
        sent = wait_for(lambda: [
            m for m in requests.get(f"{sim.base_url}/_sim/messages", timeout=5).json()
            if m.get("touser") == shopper.wechat_openid and number in str(m)
        ])
    assert OutboxMessage.objects.count() == 0
    assert sent and sent[-1]["template_id"] == "SIM_TPL_ORDER_PAID"
    assert Order.objects.get(number=number).status == OrderStatus.PAID
