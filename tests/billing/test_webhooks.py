"""Stripe webhooks: verified, stored once, applied in order of Stripe's time, and the
merchant's status following through its transition service (issue 11, item 3)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core import mail
from django.utils import timezone

from billing import dunning, emails
from billing.models import BillingAccount, EventOutcome, Invoice, Plan, StripeEvent
from core.models import OutboxMessage
from tenants.models import Merchant, MerchantStatus, MerchantStatusChange
from tests.billing import events as ev

CUSTOMER = "cus_test_mall"


@pytest.fixture
def billed(make_merchant, settings):
    """A mall on its trial with a Stripe customer, and the platform's webhook secret set."""
    settings.STRIPE_WEBHOOK_SECRET = ev.WEBHOOK_SECRET
    merchant = make_merchant().merchant
    BillingAccount.objects.create(merchant=merchant, stripe_customer_id=CUSTOMER)
    return merchant


def status_of(merchant) -> str:
    return Merchant.objects.get(pk=merchant.pk).status


def moves(merchant) -> list[tuple[str, str]]:
    return list(MerchantStatusChange.objects.filter(merchant=merchant)
                .order_by("created_at", "id").values_list("from_status", "to_status"))


def billing_emails(kind: str) -> list[OutboxMessage]:
    return [m for m in OutboxMessage.objects.filter(task="billing.tasks.send_billing_email")
            if m.kwargs.get("kind") == kind]


# --- refusals ---------------------------------------------------------------------------


def test_a_forged_signature_is_refused_and_changes_nothing(billed):
    evt = ev.event("customer.subscription.created", ev.subscription(CUSTOMER))
    response = ev.deliver(evt, secret="whsec_someone_else")
    assert response.status_code == 400
    assert response.json()["code"] == "webhook_refused"
    assert not StripeEvent.objects.exists()
    assert status_of(billed) == MerchantStatus.TRIAL


def test_a_tampered_body_is_refused(billed):
    evt = ev.event("customer.subscription.created", ev.subscription(CUSTOMER))
    assert ev.deliver(evt, tamper=True).status_code == 400
    assert not StripeEvent.objects.exists()
    assert status_of(billed) == MerchantStatus.TRIAL


def test_a_stale_signature_is_refused(billed):
    evt = ev.event("customer.subscription.created", ev.subscription(CUSTOMER))
    response = ev.deliver(evt, timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert status_of(billed) == MerchantStatus.TRIAL
    # Within the tolerance it is taken.
    assert ev.deliver(evt, timestamp=int(time.time()) - 290).status_code == 200


def test_a_request_without_signature_or_json_is_refused(billed):
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    unsigned = client.post(ev.WEBHOOK_URL, data=b"{}", content_type="application/json")
    assert unsigned.status_code == 400
    assert client.get(ev.WEBHOOK_URL).status_code == 405
    assert not StripeEvent.objects.exists()


# --- each event type --------------------------------------------------------------------


def test_checkout_completed_activates_the_mall_on_the_plan_it_paid_for(billed):
    response = ev.deliver(ev.event("checkout.session.completed",
                                   ev.checkout_session(CUSTOMER, billed.pk, plan_code="pro")))
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == EventOutcome.APPLIED
    merchant = Merchant.objects.get(pk=billed.pk)
    assert merchant.status == MerchantStatus.ACTIVE
    assert merchant.plan.code == "pro"
    assert BillingAccount.objects.get(merchant=billed).stripe_subscription_id == "sub_test_1"
    change = MerchantStatusChange.objects.filter(merchant=billed).latest("id")
    assert (change.to_status, change.actor_kind, change.reason) == (
        "active", "system", "Stripe checkout.session.completed")


def test_checkout_finds_a_merchant_without_a_customer_row_by_reference(make_merchant, settings):
    settings.STRIPE_WEBHOOK_SECRET = ev.WEBHOOK_SECRET
    merchant = make_merchant().merchant
    ev.deliver(ev.event("checkout.session.completed",
                        ev.checkout_session("cus_new", merchant.pk)))
    assert status_of(merchant) == MerchantStatus.ACTIVE
    assert BillingAccount.objects.get(merchant=merchant).stripe_customer_id == "cus_new"


def test_subscription_created_mirrors_it_and_activates(billed):
    ev.deliver(ev.event("customer.subscription.created",
                        ev.subscription(CUSTOMER, plan_code="growth", interval="year")))
    account = BillingAccount.objects.get(merchant=billed)
    assert (account.stripe_subscription_id, account.subscription_status, account.interval) == (
        "sub_test_1", "active", "year")
    assert account.current_period_end > timezone.now()
    merchant = Merchant.objects.get(pk=billed.pk)
    assert (merchant.status, merchant.plan.code) == (MerchantStatus.ACTIVE, "growth")


def test_subscription_updated_changes_the_plan(billed):
    ev.deliver(ev.event("customer.subscription.created", ev.subscription(CUSTOMER),
                        created=int(time.time()) - 60))
    ev.deliver(ev.event("customer.subscription.updated",
                        ev.subscription(CUSTOMER, plan_code="pro", cancel_at_period_end=True),
                        previous={"items": {}}))
    merchant = Merchant.objects.get(pk=billed.pk)
    assert merchant.plan.code == "pro"
    assert BillingAccount.objects.get(merchant=billed).cancel_at_period_end is True


def test_subscription_deleted_closes_the_mall_and_keeps_its_data(billed):
    ev.deliver(ev.event("customer.subscription.created", ev.subscription(CUSTOMER),
                        created=int(time.time()) - 60))
    ev.deliver(ev.event("customer.subscription.deleted",
                        ev.subscription(CUSTOMER, status="canceled")))
    assert status_of(billed) == MerchantStatus.CLOSED
    assert Merchant.objects.filter(pk=billed.pk).exists()
    assert BillingAccount.objects.get(merchant=billed).subscription_status == "canceled"


def test_trial_will_end_emails_the_owner(billed):
    trial_end = int(time.time()) + 3 * 86400
    sub = {**ev.subscription(CUSTOMER, status="trialing"), "trial_end": trial_end}
    ev.deliver(ev.event("customer.subscription.trial_will_end", sub))
    [message] = billing_emails("trial_will_end")
    to = emails.send_billing_email(**message.kwargs)
    assert to == billed.owner_email
    body = mail.outbox[-1].body
    assert "ends on" in body and "/console/settings/billing/" in body


def test_invoice_paid_is_recorded(billed):
    ev.deliver(ev.event("invoice.paid", ev.invoice(CUSTOMER, amount=29900)))
    invoice = Invoice.objects.get(stripe_invoice_id="in_test_1")
    assert (invoice.merchant_id, invoice.status, invoice.amount_paid_fen) == (
        billed.pk, "paid", 29900)


def test_unknown_customers_and_types_are_stored_not_applied(billed):
    response = ev.deliver(ev.event("invoice.paid", ev.invoice("cus_nobody", invoice_id="in_x")))
    assert response.status_code == 200
    assert response.json()["outcome"] == EventOutcome.UNMATCHED
    response = ev.deliver(ev.event("customer.created", {"id": CUSTOMER, "object": "customer"}))
    assert response.json()["outcome"] == EventOutcome.IGNORED
    assert not Invoice.objects.exists()


# --- replays and order --------------------------------------------------------------------


def test_the_same_event_five_times_applies_once(billed):
    evt = ev.event("invoice.payment_failed",
                   ev.invoice(CUSTOMER, status="open", attempt_count=1))
    for _ in range(5):
        assert ev.deliver(evt).status_code == 200
    stored = StripeEvent.objects.get(event_id=evt["id"])
    assert stored.deliveries == 5
    assert moves(billed) == [("trial", "past_due")]
    assert len(billing_emails("payment_failed")) == 1
    assert Invoice.objects.count() == 1


def test_updated_before_created_ends_on_the_newer_state(billed):
    now = int(time.time())
    created = ev.event("customer.subscription.created",
                       ev.subscription(CUSTOMER, plan_code="growth"), created=now - 5)
    updated = ev.event("customer.subscription.updated",
                       ev.subscription(CUSTOMER, plan_code="pro", status="past_due"),
                       created=now)
    assert ev.deliver(updated).json()["outcome"] == EventOutcome.APPLIED
    assert ev.deliver(created).json()["outcome"] == EventOutcome.STALE
    account = BillingAccount.objects.get(merchant=billed)
    merchant = Merchant.objects.get(pk=billed.pk)
    assert (account.subscription_status, merchant.plan.code, merchant.status) == (
        "past_due", "pro", MerchantStatus.PAST_DUE)


def test_a_created_event_in_the_same_second_after_an_update_is_stale(billed):
    now = int(time.time())
    ev.deliver(ev.event("customer.subscription.updated",
                        ev.subscription(CUSTOMER, plan_code="pro"), created=now))
    stale = ev.deliver(ev.event("customer.subscription.created",
                                ev.subscription(CUSTOMER, plan_code="growth"), created=now))
    assert stale.json()["outcome"] == EventOutcome.STALE
    assert Merchant.objects.get(pk=billed.pk).plan.code == "pro"


def test_a_late_payment_failed_never_reopens_a_paid_invoice(billed):
    now = int(time.time())
    ev.deliver(ev.event("invoice.paid", ev.invoice(CUSTOMER), created=now))
    late = ev.deliver(ev.event("invoice.payment_failed",
                               ev.invoice(CUSTOMER, status="open"), created=now - 30))
    assert late.json()["outcome"] == EventOutcome.STALE
    assert Invoice.objects.get().status == "paid"
    assert status_of(billed) == MerchantStatus.TRIAL


# --- dunning ------------------------------------------------------------------------------


def test_a_failed_payment_suspends_after_the_grace_period_and_a_payment_restores(billed, settings):
    settings.BILLING_GRACE_DAYS = 7
    ev.deliver(ev.event("customer.subscription.created", ev.subscription(CUSTOMER),
                        created=int(time.time()) - 120))
    assert status_of(billed) == MerchantStatus.ACTIVE
    ev.deliver(ev.event("invoice.payment_failed",
                        ev.invoice(CUSTOMER, invoice_id="in_renew", status="open"),
                        created=int(time.time()) - 60))
    assert status_of(billed) == MerchantStatus.PAST_DUE
    assert Merchant.objects.get(pk=billed.pk).is_open_to_shoppers

    # Within the grace period the sweep leaves it be; after it, the mall is suspended.
    assert dunning.dunning_sweep(now=timezone.now() + dt.timedelta(days=6)).suspended == []
    assert status_of(billed) == MerchantStatus.PAST_DUE
    swept = dunning.dunning_sweep(now=timezone.now() + dt.timedelta(days=7, minutes=1))
    assert swept.suspended == [billed.slug]
    assert status_of(billed) == MerchantStatus.SUSPENDED
    assert not Merchant.objects.get(pk=billed.pk).is_open_to_shoppers
    # Sweeping again changes nothing.
    assert dunning.dunning_sweep(now=timezone.now() + dt.timedelta(days=8)).suspended == []

    ev.deliver(ev.event("invoice.paid", ev.invoice(CUSTOMER, invoice_id="in_renew",
                                                  attempt_count=2)))
    assert status_of(billed) == MerchantStatus.ACTIVE
    assert [to for _, to in moves(billed)] == ["active", "past_due", "suspended", "active"]
    suspension = MerchantStatusChange.objects.filter(merchant=billed, to_status="suspended").get()
    assert suspension.reason == "past due for 7 days"


def test_a_payment_of_one_invoice_leaves_the_mall_past_due_while_another_is_unpaid(billed):
    ev.deliver(ev.event("invoice.payment_failed",
                        ev.invoice(CUSTOMER, invoice_id="in_a", status="open")))
    ev.deliver(ev.event("invoice.payment_failed",
                        ev.invoice(CUSTOMER, invoice_id="in_b", status="open")))
    ev.deliver(ev.event("invoice.paid", ev.invoice(CUSTOMER, invoice_id="in_a")))
    assert status_of(billed) == MerchantStatus.PAST_DUE
    ev.deliver(ev.event("invoice.paid", ev.invoice(CUSTOMER, invoice_id="in_b")))
    assert status_of(billed) == MerchantStatus.ACTIVE


def test_a_trial_without_a_subscription_is_reminded_then_past_due(billed):
    Merchant.objects.filter(pk=billed.pk).update(
        trial_ends_at=timezone.now() + dt.timedelta(days=2))
    first = dunning.dunning_sweep()
    assert first.reminded == [billed.slug]
    assert dunning.dunning_sweep().reminded == []  # once
    [message] = billing_emails("trial_ending")
    emails.send_billing_email(**message.kwargs)
    assert mail.outbox[-1].to == [billed.owner_email]

    ended = dunning.dunning_sweep(now=timezone.now() + dt.timedelta(days=2, minutes=1))
    assert ended.trials_ended == [billed.slug]
    assert status_of(billed) == MerchantStatus.PAST_DUE


def test_a_trial_with_a_subscription_is_left_alone(billed):
    ev.deliver(ev.event("customer.subscription.created",
                        {**ev.subscription(CUSTOMER, status="trialing")}))
    Merchant.objects.filter(pk=billed.pk).update(
        status=MerchantStatus.TRIAL, trial_ends_at=timezone.now() + dt.timedelta(days=1))
    result = dunning.dunning_sweep(now=timezone.now() + dt.timedelta(days=2))
    assert result.trials_ended == [] and result.reminded == []


def test_plans_are_seeded_with_lookup_keys(db):
    growth = Plan.objects.get(code="growth")
    assert growth.stripe_lookup_key("year") == "mall_growth_year"


def test_the_sweep_command_suspends_an_overdue_mall(billed):
    from io import StringIO

    from django.core.management import call_command

    ev.deliver(ev.event("invoice.payment_failed", ev.invoice(CUSTOMER, status="open")))
    out = StringIO()
    call_command("billing_sweep", stdout=out)
    assert status_of(billed) == MerchantStatus.PAST_DUE
    call_command("billing_sweep", "--days-ahead", "8", stdout=out)
    assert status_of(billed) == MerchantStatus.SUSPENDED
    assert f"suspended: {billed.slug}" in out.getvalue()


def test_a_downgrade_through_stripe_clamps_the_commission_plan(billed):
    from django_tenants.utils import schema_context

    from merchant_console.models import AuditEntry
    from storefront.distribution import plans
    from storefront.distribution.models import CommissionPlan

    ev.deliver(ev.event("customer.subscription.created",
                        ev.subscription(CUSTOMER, plan_code="pro"), created=int(time.time()) - 60))
    with schema_context(billed.schema_name):
        plan = plans.plan_create({"name": "三级", "tiers": 3, "rates_bp": [1000, 500, 200]})
        plans.plan_activate(plan_id=plan.pk)
    ev.deliver(ev.event("customer.subscription.updated",
                        ev.subscription(CUSTOMER, plan_code="starter")))
    assert Merchant.objects.get(pk=billed.pk).plan.code == "starter"
    with schema_context(billed.schema_name):
        active = CommissionPlan.objects.get(status="active")
        assert (active.tiers, active.rates_bp[:2]) == (2, [1000, 500])
        assert CommissionPlan.objects.get(pk=plan.pk).status == "retired"  # kept, not deleted
        assert AuditEntry.objects.filter(action="plan.clamped").exists()
