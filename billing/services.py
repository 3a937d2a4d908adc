"""What a merchant does with its subscription: subscribe through Stripe Checkout, manage it
in Stripe's customer portal, change plan. Every call to Stripe carries an idempotency key;
the plan change goes through the outbox so Stripe being down delays it, never loses it."""

from __future__ import annotations

import logging
import time

import stripe
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from billing import limits, stripe_gateway
from billing.errors import BillingConflict, BillingInvalid, BillingNotConfigured
from billing.models import (
    BillingAccount,
    BillingInterval,
    Plan,
    PlanChange,
    PlanChangeStatus,
)
from core import events, outbox

logger = logging.getLogger(__name__)

# Stripe refuses a Checkout trial ending less than 48 hours ahead; a shorter rest of the
# platform trial is simply not carried over.
MIN_CARRIED_TRIAL_SECONDS = 48 * 3600


def account_for(merchant) -> BillingAccount:
    account, _ = BillingAccount.objects.get_or_create(merchant=merchant)
    return account


def _clean_choice(plan_code: str, interval: str) -> tuple[Plan, str]:
    errors: dict[str, list[str]] = {}
    plan = Plan.objects.filter(code=plan_code or "").first()
    if plan is None:
        errors["plan"] = [_("Choose one of the plans.")]
    if interval not in BillingInterval.values:
        errors["interval"] = [_("Choose monthly or yearly billing.")]
    if errors:
        raise BillingInvalid(fields=errors)
    if not plan.price_fen(interval):
        raise BillingInvalid(fields={"interval": [_("This plan has no price for that interval.")]})
    return plan, interval


def _public():
    """Billing rows live in the public schema, whichever host the request came to."""
    return schema_context("public")


def _ensure_customer(merchant) -> str:
    """The merchant's Stripe customer, created once (the idempotency key makes two racing
    first clicks one customer)."""
    with transaction.atomic():
        account = BillingAccount.objects.select_for_update().filter(merchant=merchant).first()
        if account is None:
            account = BillingAccount.objects.create(merchant=merchant)
            account = BillingAccount.objects.select_for_update().get(pk=account.pk)
        if account.stripe_customer_id:
            return account.stripe_customer_id
        customer = stripe_gateway.client().v1.customers.create(
            params={"email": merchant.owner_email, "name": merchant.name,
                    "metadata": {"merchant_id": str(merchant.pk), "slug": merchant.slug}},
            options={"idempotency_key": f"customer-{merchant.pk}"},
        )
        account.stripe_customer_id = customer.id
        account.save(update_fields=["stripe_customer_id", "updated_at"])
        return customer.id


def price_id_for(plan: Plan, interval: str) -> str:
    """The Stripe price of a plan and interval, found by its lookup key."""
    prices = stripe_gateway.client().v1.prices.list(
        params={"lookup_keys": [plan.stripe_lookup_key(interval)], "active": True, "limit": 1}
    )
    if not prices.data:
        logger.error("no Stripe price with lookup key %s", plan.stripe_lookup_key(interval))
        raise BillingNotConfigured()
    return prices.data[0].id


def checkout_start(
    *, merchant, plan_code: str, interval: str, success_url: str, cancel_url: str
) -> str:
    """A Stripe Checkout session (subscription mode) for the chosen plan; answers the URL of
    Stripe's hosted page. What is left of the platform trial is carried over, so choosing a
    plan early costs nothing until the trial would have ended."""
    plan, interval = _clean_choice(plan_code, interval)
    with _public():
        account = account_for(merchant)
        if account.has_live_subscription:
            raise BillingConflict(
                _("The mall already has a subscription: change its plan instead.")
            )
        if merchant.status == "closed":
            raise BillingConflict(_("This mall is closed."))
        try:
            customer_id = _ensure_customer(merchant)
            params = {
                "mode": "subscription",
                "customer": customer_id,
                "line_items": [{"price": price_id_for(plan, interval), "quantity": 1}],
                "success_url": success_url,
                "cancel_url": cancel_url,
                "client_reference_id": str(merchant.pk),
                "metadata": {"merchant_id": str(merchant.pk), "plan": plan.code,
                             "interval": interval},
                "subscription_data": {"metadata": {"merchant_id": str(merchant.pk)}},
            }
            if merchant.status == "trial" and merchant.trial_ends_at:
                trial_end = int(merchant.trial_ends_at.timestamp())
                if trial_end - time.time() > MIN_CARRIED_TRIAL_SECONDS:
                    params["subscription_data"]["trial_end"] = trial_end
            session = stripe_gateway.client().v1.checkout.sessions.create(params=params)
        except stripe.StripeError as exc:
            logger.warning("checkout for %s failed: %s", merchant.slug, exc)
            raise stripe_gateway.unavailable(exc) from exc
    return session.url


def portal_url(*, merchant, return_url: str) -> str:
    """Stripe's customer portal for this merchant: card, plan (prorated), cancellation."""
    with _public():
        account = account_for(merchant)
        if not account.stripe_customer_id:
            raise BillingConflict(_("Choose a plan first: there is nothing to manage yet."))
        try:
            session = stripe_gateway.client().v1.billing_portal.sessions.create(
                params={"customer": account.stripe_customer_id, "return_url": return_url}
            )
        except stripe.StripeError as exc:
            logger.warning("portal for %s failed: %s", merchant.slug, exc)
            raise stripe_gateway.unavailable(exc) from exc
    return session.url


def plan_change_request(
    *, merchant, plan_code: str, interval: str, requested_by: str
) -> PlanChange:
    """Ask Stripe (through the outbox) to move the live subscription to another plan or
    interval, prorated and invoiced at once. One change at a time per mall."""
    plan, interval = _clean_choice(plan_code, interval)
    with _public(), transaction.atomic():
        account = BillingAccount.objects.select_for_update().filter(merchant=merchant).first()
        if account is None or not account.has_live_subscription:
            raise BillingConflict(_("The mall has no subscription yet: choose a plan first."))
        if plan.pk == merchant.plan_id and interval == account.interval:
            raise BillingConflict(_("The mall is already on this plan."))
        if PlanChange.objects.filter(merchant=merchant, status=PlanChangeStatus.PENDING).exists():
            raise BillingConflict(_("A plan change is already on its way to Stripe."))
        change = PlanChange.objects.create(
            merchant=merchant, plan=plan, interval=interval, requested_by=requested_by[:254]
        )
        outbox.enqueue("billing.tasks.send_plan_change", kwargs={"change_id": change.pk})
    return change


class PlanChangeRetry(Exception):
    """Stripe could not be reached: the task retries later with the same idempotency key."""


def plan_change_send(change_id: int) -> PlanChange:
    """Send a pending plan change to Stripe (the task's body; safe to run twice)."""
    connection.set_schema_to_public()
    change = PlanChange.objects.select_related("plan", "merchant").get(pk=change_id)
    if change.status != PlanChangeStatus.PENDING:
        return change
    account = account_for(change.merchant)
    client = stripe_gateway.client()
    try:
        subscription = client.v1.subscriptions.retrieve(account.stripe_subscription_id)
        item_id = subscription["items"]["data"][0]["id"]
        client.v1.subscriptions.update(
            account.stripe_subscription_id,
            params={"items": [{"id": item_id,
                               "price": price_id_for(change.plan, change.interval)}],
                    "proration_behavior": "always_invoice",
                    "metadata": {"merchant_id": str(change.merchant_id)}},
            options={"idempotency_key": change.idempotency_key},
        )
    except stripe.StripeError as exc:
        transient = stripe_gateway.is_transient(exc)
        PlanChange.objects.filter(pk=change.pk, status=PlanChangeStatus.PENDING).update(
            attempts=change.attempts + 1, last_error=str(exc.user_message or exc)[:300],
            **({} if transient else {"status": PlanChangeStatus.FAILED}),
        )
        if transient:
            raise PlanChangeRetry(str(exc)) from exc
        logger.warning("plan change %s refused by Stripe: %s", change.pk, exc)
        change.refresh_from_db()
        return change
    PlanChange.objects.filter(pk=change.pk, status=PlanChangeStatus.PENDING).update(
        status=PlanChangeStatus.SENT, sent_at=timezone.now(), attempts=change.attempts + 1,
        last_error="",
    )
    change.refresh_from_db()
    return change


def merchant_plan_set(*, merchant, plan: Plan, reason: str) -> bool:
    """Put the merchant on `plan` (the webhooks' decision); answers whether it changed.
    Brings the mall within the new plan's limits in the same transaction (a downgrade
    clamps the active commission plan; nothing is deleted) and publishes
    `merchant.plan_changed`."""
    from tenants.models import Merchant

    locked = Merchant.objects.select_for_update().get(pk=merchant.pk)
    if locked.plan_id == plan.pk:
        return False
    previous = locked.plan_id
    locked.plan = plan
    locked.save(update_fields=["plan"])
    merchant.plan = plan
    limits.plan_limits_enforce(locked)
    events.publish("merchant.plan_changed", subject=locked, id=locked.pk,
                   schema_name=locked.schema_name, from_plan=previous, to_plan=plan.pk,
                   reason=reason[:200])
    logger.info("merchant %s: plan -> %s (%s)", locked.slug, plan.code, reason)
    return True
