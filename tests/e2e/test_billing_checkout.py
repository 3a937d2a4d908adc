"""A new merchant signs up on a trial, upgrades through the Stripe stand-in's hosted
Checkout page, and the console shows the active plan (issue 11's browser test). Stripe's
webhooks travel over HTTP from the stand-in to the live server."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from billing.models import BillingAccount, Invoice
from tenants.models import Merchant
from tests.billing.conftest import stripe_settings, stripe_sim  # noqa: F401
from tests.conftest import OWNER_PASSWORD, ensure_seeded_plans
from tests.e2e.conftest import live_platform

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("committed_cleanup")]


@pytest.fixture
def stripe_webhook_url(live_server) -> str:
    return f"{live_server.url}/billing/stripe/webhook/"


def test_a_new_merchant_upgrades_through_checkout(live_server, settings, browser,
                                                  stripe_settings):  # noqa: F811
    port = live_platform(live_server, settings)
    ensure_seeded_plans()
    call_command("billing_sync_prices", stdout=open("/dev/null", "w"))  # noqa: SIM115
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20000)
    mall = f"http://bill-house.localhost:{port}"
    try:
        page.goto(f"http://localhost:{port}/signup/")
        page.fill("input[name=name]", "Bill House")
        page.fill("input[name=slug]", "bill-house")
        page.fill("input[name=owner_email]", "boss@example.com")
        page.fill("input[name=password]", OWNER_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{mall}/console/")

        page.goto(f"{mall}/console/settings/billing/")
        assert page.inner_text("#billing-status") == "Trial"
        assert page.inner_text("#trial-days-left") == "14"
        page.click("#choose-growth-month")
        # Stripe's hosted Checkout (the stand-in's page), with the trial carried over.
        page.wait_for_selector("#card_number")
        assert "Free trial until" in page.content()
        page.fill("#card_number", "4242 4242 4242 4242")
        page.click("button[type=submit]")
        page.wait_for_url(f"{mall}/console/settings/billing/?checkout=success")
        # The page polls until Stripe's webhooks have been applied.
        page.wait_for_function(
            "document.querySelector('#billing-status').innerText === 'Active'")
        assert "Growth" in page.inner_text("#billing-plan")
        assert "Growth" in page.inner_text(".mall")  # the console's header too
        assert page.locator("#open-portal").count() == 1
    finally:
        context.close()

    merchant = Merchant.objects.get(slug="bill-house")
    account = BillingAccount.objects.get(merchant=merchant)
    assert (merchant.status, merchant.plan.code) == ("active", "growth")
    assert account.subscription_status == "trialing"
    assert Invoice.objects.filter(merchant=merchant, status="paid").exists()
