"""Stripe events as Stripe sends them (the stand-in builds the same shapes), signed with
the real scheme, for the webhook tests."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time

from django.test import Client

WEBHOOK_SECRET = "whsec_test_platform"
WEBHOOK_URL = "/billing/stripe/webhook/"
_ids = itertools.count(1)


def signature(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def event(type_: str, obj: dict, *, created: int | None = None, event_id: str | None = None,
          previous: dict | None = None) -> dict:
    data = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": event_id or f"evt_test_{next(_ids)}", "object": "event",
        "api_version": "2025-03-31.basil", "created": created or int(time.time()),
        "type": type_, "livemode": False, "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None}, "data": data,
    }


def price(plan_code: str = "growth", interval: str = "month", amount: int = 29900) -> dict:
    return {"id": f"price_{plan_code}_{interval}", "object": "price",
            "lookup_key": f"mall_{plan_code}_{interval}", "unit_amount": amount,
            "currency": "cny", "recurring": {"interval": interval}, "product": "prod_mall"}


def subscription(customer: str, *, sub_id: str = "sub_test_1", status: str = "active",
                 plan_code: str = "growth", interval: str = "month",
                 cancel_at_period_end: bool = False, period_end: int | None = None) -> dict:
    now = int(time.time())
    period_end = period_end or now + 30 * 86400
    return {
        "id": sub_id, "object": "subscription", "customer": customer, "status": status,
        "items": {"object": "list", "data": [{
            "id": "si_test_1", "object": "subscription_item",
            "price": price(plan_code, interval), "quantity": 1,
            "current_period_start": now, "current_period_end": period_end,
        }]},
        "current_period_start": now, "current_period_end": period_end,
        "cancel_at_period_end": cancel_at_period_end, "trial_end": None,
        "metadata": {}, "created": now,
    }


def invoice(customer: str, *, invoice_id: str = "in_test_1", status: str = "paid",
            amount: int = 29900, attempt_count: int = 1, sub_id: str = "sub_test_1") -> dict:
    now = int(time.time())
    return {
        "id": invoice_id, "object": "invoice", "number": f"MALL-{invoice_id[-4:]}",
        "customer": customer, "subscription": sub_id, "status": status,
        "amount_due": amount, "amount_paid": amount if status == "paid" else 0,
        "currency": "cny", "billing_reason": "subscription_cycle",
        "attempt_count": attempt_count, "next_payment_attempt": None,
        "hosted_invoice_url": f"http://stripe.test/invoices/{invoice_id}",
        "period_start": now, "period_end": now + 30 * 86400, "created": now,
    }


def checkout_session(customer: str, merchant_id: int, *, plan_code: str = "growth",
                     interval: str = "month", sub_id: str = "sub_test_1") -> dict:
    return {
        "id": "cs_test_1", "object": "checkout.session", "mode": "subscription",
        "customer": customer, "subscription": sub_id, "status": "complete",
        "payment_status": "paid", "client_reference_id": str(merchant_id),
        "metadata": {"merchant_id": str(merchant_id), "plan": plan_code, "interval": interval},
    }


def deliver(evt: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None,
            tamper: bool = False):
    """POST the event to the platform host's endpoint as Stripe does; `tamper` changes the
    body after signing it."""
    payload = json.dumps(evt).encode()
    header = signature(payload, secret, timestamp)
    if tamper:
        payload = payload.replace(b'"status": "', b'"status": "x', 1)
    return Client(HTTP_HOST="localhost").post(
        WEBHOOK_URL, data=payload, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )
