"""The stand-in's events as the platform's webhook endpoint receives them: a Checkout on
the stand-in's page makes the trial mall active, a failed renewal makes it past due, and a
new card in the stand-in's portal brings it back. Proves the two sides agree on shapes,
signatures and settings (the `stripe_settings` fixture), not the billing rules themselves
(test_webhooks.py has those)."""

from __future__ import annotations

import io

import requests
import stripe
from django.test import Client

from billing.models import BillingAccount
from tenants.models import Merchant, MerchantStatus
from tests.conftest import ensure_default_plan

CARD = {"card_number": "4242 4242 4242 4242", "expiry": "12 / 34", "cvc": "123"}


def deliver_new_events(stripe_sim, seen: set[str]) -> list[str]:
    """Post every event the stand-in made since the last call, signed, in its order."""
    delivered = []
    for event in stripe_sim.simulator.events():
        if event["id"] in seen:
            continue
        seen.add(event["id"])
        body, signature = stripe_sim.simulator.signed_event(event["id"])
        response = Client(HTTP_HOST="localhost").post(
            "/billing/stripe/webhook/", data=body, content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
        assert response.status_code == 200, response.content
        delivered.append(event["type"])
    return delivered


def test_checkout_renewal_failure_and_new_card_move_the_mall(
    make_merchant, stripe_settings, stripe_sim
):
    plan = ensure_default_plan()
    merchant = make_merchant().merchant
    client = stripe.StripeClient(stripe_settings.STRIPE_SECRET_KEY,
                                 base_addresses={"api": stripe_settings.STRIPE_API_BASE},
                                 max_network_retries=0)
    product = client.v1.products.create({"name": plan.name})
    price = client.v1.prices.create({
        "product": product.id, "unit_amount": plan.monthly_price_fen, "currency": "cny",
        "recurring": {"interval": "month"}, "lookup_key": plan.stripe_lookup_key("month"),
    })
    customer = client.v1.customers.create({"email": "owner@example.com",
                                           "metadata": {"merchant_id": str(merchant.pk)}})
    BillingAccount.objects.create(merchant=merchant, stripe_customer_id=customer.id)
    session = client.v1.checkout.sessions.create({
        "mode": "subscription", "customer": customer.id,
        "line_items": [{"price": price.id, "quantity": 1}],
        "success_url": "http://localhost/ok", "client_reference_id": str(merchant.pk),
        "metadata": {"merchant_id": str(merchant.pk), "plan": plan.code, "interval": "month"},
        "subscription_data": {"metadata": {"merchant_id": str(merchant.pk)}},
    })
    paid = requests.post(session.url, data=CARD, allow_redirects=False, timeout=5)
    assert paid.status_code == 303
    seen: set[str] = set()
    assert deliver_new_events(stripe_sim, seen) == [
        "customer.subscription.created", "invoice.paid", "checkout.session.completed"
    ]
    account = BillingAccount.objects.get(merchant=merchant)
    assert account.subscription_status == "active"
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.ACTIVE

    subscription_id = client.v1.checkout.sessions.retrieve(session.id).subscription
    base = stripe_sim.base_url
    requests.post(f"{base}/_sim/settings", json={"decline_all": True}, timeout=5)
    requests.post(f"{base}/_sim/subscriptions/{subscription_id}/renew",
                  timeout=5).raise_for_status()
    assert deliver_new_events(stripe_sim, seen) == [
        "invoice.payment_failed", "customer.subscription.updated"
    ]
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.PAST_DUE

    requests.post(f"{base}/_sim/settings", json={"decline_all": False}, timeout=5)
    portal = client.v1.billing_portal.sessions.create({"customer": customer.id})
    updated = requests.post(portal.url, data={"action": "update_card", **CARD}, timeout=5)
    assert "Your card was updated" in updated.text
    assert deliver_new_events(stripe_sim, seen) == [
        "invoice.paid", "customer.subscription.updated"
    ]
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.ACTIVE


def test_the_platforms_own_calls_work_against_the_stand_in(
    make_merchant, stripe_settings, stripe_sim
):
    """billing_sync_prices, checkout_start, the plan change task and portal_url, each
    through the real library, against the stand-in."""
    from django.core.management import call_command

    from billing import services
    from billing.models import Plan

    plan = ensure_default_plan()
    merchant = make_merchant().merchant
    call_command("billing_sync_prices", stdout=io.StringIO())
    url = services.checkout_start(merchant=merchant, plan_code=plan.code, interval="month",
                                  success_url="http://localhost/ok",
                                  cancel_url="http://localhost/cancel")
    page = requests.get(url, timeout=5)
    assert plan.name in page.text
    assert requests.post(url, data=CARD, allow_redirects=False, timeout=5).status_code == 303
    deliver_new_events(stripe_sim, seen := set())
    account = BillingAccount.objects.get(merchant=merchant)
    assert account.subscription_status in ("trialing", "active")
    other = Plan.objects.exclude(pk=plan.pk).filter(monthly_price_fen__gt=0).first()
    assert other is not None, "the seeded plans (Growth, Pro) are there"
    change = services.plan_change_request(merchant=merchant, plan_code=other.code,
                                          interval="month", requested_by="owner")
    services.plan_change_send(change.pk)
    live = stripe.StripeClient(
        stripe_settings.STRIPE_SECRET_KEY,
        base_addresses={"api": stripe_settings.STRIPE_API_BASE},
    ).v1.subscriptions.retrieve(account.stripe_subscription_id)
    assert live["items"]["data"][0]["price"]["lookup_key"] == other.stripe_lookup_key("month")
    assert "customer.subscription.updated" in deliver_new_events(stripe_sim, seen)
    portal = services.portal_url(merchant=merchant, return_url="http://localhost/billing/")
    assert "http://localhost/billing/" in requests.get(portal, timeout=5).text
