"""Billing end to end through the Stripe stand-in, with the real `stripe` library and
Stripe's signed webhooks travelling over HTTP to a live server: subscribe at Checkout, fail
a renewal and be suspended after the grace period, pay and be restored, change plan through
the outbox while Stripe is down, cancel and close."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import requests
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from billing import dunning, services
from billing.errors import BillingUnavailable
from billing.models import BillingAccount, Invoice, PlanChange
from tenants import services as tenant_services
from tenants.models import Merchant
from tests.conftest import OWNER_PASSWORD, ensure_seeded_plans

pytestmark = pytest.mark.usefixtures("committed_cleanup")


@pytest.fixture
def stripe_webhook_url(live_server) -> str:
    return f"{live_server.url}/billing/stripe/webhook/"


@pytest.fixture
def merchant(stripe_settings, live_server):
    ensure_seeded_plans()
    call_command("billing_sync_prices", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return tenant_services.merchant_signup(
        name="Flow Mall", slug="flow-mall", owner_email="flow@example.com",
        password=OWNER_PASSWORD).merchant


def wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection.set_schema_to_public()
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the webhooks")


def status(merchant) -> str:
    return Merchant.objects.get(pk=merchant.pk).status


def checkout(stripe_sim, merchant, plan="growth", interval="month", card="4242424242424242"):
    url = services.checkout_start(merchant=merchant, plan_code=plan, interval=interval,
                                  success_url="http://flow.test/ok", cancel_url="http://x/no")
    assert url.startswith(stripe_sim.base_url + "/checkout/")
    response = requests.post(url, data={"card_number": card, "expiry": "12 / 34", "cvc": "123"},
                             allow_redirects=False, timeout=10)
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "http://flow.test/ok"


def sim(stripe_sim, path: str, **body) -> dict:
    response = requests.post(f"{stripe_sim.base_url}/_sim/{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def test_subscribe_fail_suspend_pay_restore(stripe_sim, merchant):
    # Past the trial: Checkout charges at once.
    Merchant.objects.filter(pk=merchant.pk).update(trial_ends_at=timezone.now())
    merchant.refresh_from_db()
    checkout(stripe_sim, merchant, card="4000000000000341")  # pays now, fails later
    wait_for(lambda: status(merchant) == "active")
    account = BillingAccount.objects.get(merchant=merchant)
    assert account.subscription_status == "active" and account.interval == "month"
    assert Merchant.objects.get(pk=merchant.pk).plan.code == "growth"
    first = wait_for(lambda: Invoice.objects.filter(merchant=merchant, status="paid").first())
    assert first.amount_paid_fen == 29900

    sim(stripe_sim, f"subscriptions/{account.stripe_subscription_id}/renew")
    wait_for(lambda: status(merchant) == "past_due")
    failed = Invoice.objects.get(merchant=merchant, status="open")
    assert failed.attempt_count == 1

    dunning.dunning_sweep(now=timezone.now() + dt.timedelta(days=8))
    assert status(merchant) == "suspended"

    # The owner puts a good card in the portal: the open invoice is paid, the mall reopens.
    portal = services.portal_url(merchant=merchant, return_url="http://flow.test/billing")
    response = requests.post(portal, data={"action": "update_card",
                                           "card_number": "4242424242424242",
                                           "expiry": "12 / 34", "cvc": "123"}, timeout=10)
    assert response.status_code in (200, 303)
    wait_for(lambda: status(merchant) == "active")
    assert Invoice.objects.get(pk=failed.pk).status == "paid"


def test_a_declined_card_creates_nothing(stripe_sim, merchant):
    url = services.checkout_start(merchant=merchant, plan_code="growth", interval="year",
                                  success_url="http://flow.test/ok", cancel_url="http://x/no")
    page = requests.post(url, data={"card_number": "4000000000000002", "expiry": "12 / 34",
                                    "cvc": "123"}, allow_redirects=False, timeout=10)
    assert page.status_code == 402 and "declined" in page.text
    time.sleep(0.3)
    assert status(merchant) == "trial"
    assert not BillingAccount.objects.get(merchant=merchant).stripe_subscription_id


def test_a_plan_change_survives_stripe_being_down_and_lands_once(stripe_sim, merchant):
    checkout(stripe_sim, merchant)
    wait_for(lambda: BillingAccount.objects.get(merchant=merchant).has_live_subscription)
    change = services.plan_change_request(merchant=merchant, plan_code="pro",
                                          interval="month", requested_by="flow@example.com")

    sim(stripe_sim, "settings", api_down=True)
    with pytest.raises(services.PlanChangeRetry):
        services.plan_change_send(change.pk)
    change.refresh_from_db()
    assert (change.status, change.attempts) == ("pending", 1)
    with pytest.raises(BillingUnavailable):  # an interactive call says so instead
        services.portal_url(merchant=merchant, return_url="http://flow.test/billing")

    sim(stripe_sim, "settings", api_down=False)
    assert services.plan_change_send(change.pk).status == "sent"
    assert services.plan_change_send(change.pk).status == "sent"  # a redelivered task: nothing
    wait_for(lambda: Merchant.objects.get(pk=merchant.pk).plan.code == "pro")
    assert PlanChange.objects.get(pk=change.pk).attempts == 2
    subscription = requests.get(
        f"{stripe_sim.base_url}/v1/subscriptions/"
        f"{BillingAccount.objects.get(merchant=merchant).stripe_subscription_id}",
        headers={"Authorization": f"Bearer {stripe_sim.simulator.config.api_key}"}, timeout=10,
    ).json()
    assert subscription["items"]["data"][0]["price"]["lookup_key"] == "mall_pro_month"


def test_cancel_at_period_end_closes_the_mall_at_the_end(stripe_sim, merchant):
    checkout(stripe_sim, merchant)
    wait_for(lambda: status(merchant) == "active")
    portal = services.portal_url(merchant=merchant, return_url="http://flow.test/billing")
    requests.post(portal, data={"action": "cancel"}, timeout=10)
    wait_for(lambda: BillingAccount.objects.get(merchant=merchant).cancel_at_period_end)
    assert status(merchant) == "active"
    account = BillingAccount.objects.get(merchant=merchant)
    sim(stripe_sim, f"subscriptions/{account.stripe_subscription_id}/renew")
    wait_for(lambda: status(merchant) == "closed")
    assert Merchant.objects.filter(pk=merchant.pk).exists()
