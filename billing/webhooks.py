"""Stripe's webhook events, verified, stored once and applied in the same transaction.

Events may arrive twice, late or out of order (DESIGN §9). So: an event id is stored once
(a replay only counts a delivery); subscription events carry the whole subscription and
the newest one (by Stripe's `created`) wins; invoices only move forward (a late
`payment_failed` never reopens a paid invoice); and the merchant's status follows through
its one transition service (tenants.services.merchant_change_status), by the system actor,
with the event id as the reference.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable

import stripe
from django.db import connection, transaction
from django.db.models import F

from billing import services, stripe_gateway
from billing.errors import WebhookRefused
from billing.models import (
    INVOICE_STATUS_RANK,
    BillingAccount,
    EventOutcome,
    Invoice,
    InvoiceStatus,
    Plan,
    StripeEvent,
)
from core import outbox
from core.actors import Actor
from tenants import services as tenant_services
from tenants.models import Merchant, MerchantStatus

logger = logging.getLogger(__name__)

Outcome = tuple[str, str]

# Which merchant status a Stripe subscription status asks for.
_FOLLOWS = {
    "trialing": MerchantStatus.ACTIVE,
    "active": MerchantStatus.ACTIVE,
    "past_due": MerchantStatus.PAST_DUE,
    "unpaid": MerchantStatus.PAST_DUE,
    "canceled": MerchantStatus.CLOSED,
}


def _when(timestamp) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC) if timestamp else None


def _id(value) -> str:
    """A reference that may come expanded (a dict) or as an id."""
    if isinstance(value, dict):
        return value.get("id") or ""
    return value or ""


def webhook_receive(*, payload: bytes, signature: str) -> StripeEvent:
    """Verify, store and apply one delivery; answers the stored event (the first delivery's
    row for a replay). Raises WebhookRefused (400) with nothing stored when the signature or
    its timestamp does not verify."""
    try:
        stripe_gateway.construct_event(payload, signature)
        event = json.loads(payload)
        event_id, event_type = event["id"], event["type"]
        obj = event["data"]["object"]
        created = _when(event["created"])
    except (ValueError, KeyError, TypeError, stripe.SignatureVerificationError) as exc:
        raise WebhookRefused() from exc
    connection.set_schema_to_public()
    with transaction.atomic():
        with connection.cursor() as cursor:  # concurrent deliveries of one event: one applies
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["stripe:" + event_id])
        stored = StripeEvent.objects.filter(event_id=event_id).first()
        if stored is not None:
            StripeEvent.objects.filter(pk=stored.pk).update(deliveries=F("deliveries") + 1)
            return stored
        merchant = _merchant_of(obj)
        applier = APPLIERS.get(event_type)
        if applier is None:
            outcome = (EventOutcome.IGNORED, "")
        elif merchant is None:
            outcome = (EventOutcome.UNMATCHED, f"customer {_id(obj.get('customer'))}")
            logger.warning("stripe event %s (%s) matches no merchant", event_id, event_type)
        else:
            account = _locked_account(merchant, obj)
            outcome = applier(account, obj, created, event)
        return StripeEvent.objects.create(
            event_id=event_id, type=event_type, stripe_created=created, payload=event,
            merchant=merchant, outcome=outcome[0], detail=outcome[1][:200],
        )


def _merchant_of(obj: dict) -> Merchant | None:
    """By the Stripe customer we created for the merchant, else by the merchant id we put in
    the metadata (a Checkout session's client_reference_id)."""
    customer = _id(obj.get("customer"))
    if obj.get("object") == "customer":
        customer = obj.get("id") or ""
    if customer:
        account = BillingAccount.objects.filter(stripe_customer_id=customer).first()
        if account is not None:
            return Merchant.objects.get(pk=account.merchant_id)
    metadata = obj.get("metadata") or {}
    candidate = metadata.get("merchant_id") or obj.get("client_reference_id") or ""
    details = (obj.get("parent") or {}).get("subscription_details") or {}
    candidate = candidate or (details.get("metadata") or {}).get("merchant_id", "")
    if str(candidate).isdigit():
        return Merchant.objects.filter(pk=int(candidate)).first()
    return None


def _locked_account(merchant: Merchant, obj: dict) -> BillingAccount:
    """The merchant's billing row, locked: one merchant's events apply one at a time."""
    account, _ = BillingAccount.objects.get_or_create(merchant=merchant)
    account = BillingAccount.objects.select_for_update().get(pk=account.pk)
    customer = _id(obj.get("customer"))
    if customer and not account.stripe_customer_id:
        account.stripe_customer_id = customer
        account.save(update_fields=["stripe_customer_id", "updated_at"])
    return account


def _follow(merchant: Merchant, to_status: str, *, event: dict) -> str:
    """Move the merchant towards `to_status` if that is a legal move; answers what happened."""
    merchant = Merchant.objects.get(pk=merchant.pk)
    if merchant.status == to_status:
        return f"stays {to_status}"
    if merchant.status == MerchantStatus.SUSPENDED and to_status == MerchantStatus.PAST_DUE:
        return "stays suspended"  # past due again while suspended: the grace is over
    if not tenant_services.MERCHANT_MACHINE.can_move(merchant.status, to_status):
        return f"{merchant.status} cannot become {to_status}"
    tenant_services.merchant_change_status(
        merchant=merchant, to_status=to_status, actor=Actor.system(),
        reason=f"Stripe {event['type']}", reference=event["id"],
    )
    return f"{merchant.status} -> {to_status}"


def _plan_of_price(price: dict) -> tuple[Plan | None, str]:
    interval = ((price.get("recurring") or {}).get("interval")) or ""
    code = (Plan.code_of_lookup_key(price.get("lookup_key") or "")
            or (price.get("metadata") or {}).get("plan"))
    return Plan.objects.filter(code=code).first() if code else None, interval


# --- the appliers: (account locked, the event's object, its Stripe time, the event) -------


def _subscription(account: BillingAccount, sub: dict, created, event: dict) -> Outcome:
    live = account.has_live_subscription
    if account.stripe_subscription_id and sub["id"] != account.stripe_subscription_id and live:
        return EventOutcome.STALE, f"{account.stripe_subscription_id} is the live subscription"
    # `created` events come first by definition: one that arrives after any other event of
    # its subscription is older news, even within the same second.
    if (account.stripe_subscription_id == sub["id"] and account.subscription_synced_at
            and (created < account.subscription_synced_at
                 or event["type"] == "customer.subscription.created")):
        return EventOutcome.STALE, "a newer event of this subscription was applied"
    items = (sub.get("items") or {}).get("data") or [{}]
    item = items[0]
    price = item.get("price") or {}
    plan, interval = _plan_of_price(price)
    account.stripe_subscription_id = sub["id"]
    account.subscription_status = sub.get("status") or ""
    account.stripe_price_id = price.get("id") or ""
    account.interval = interval if interval in ("month", "year") else account.interval
    account.current_period_end = _when(
        item.get("current_period_end") or sub.get("current_period_end")
    )
    account.cancel_at_period_end = bool(sub.get("cancel_at_period_end"))
    account.trial_end = _when(sub.get("trial_end"))
    account.subscription_synced_at = created
    account.save()
    notes = [f"subscription {account.subscription_status}"]
    if (plan is not None and account.has_live_subscription
            and services.merchant_plan_set(merchant=account.merchant, plan=plan,
                                           reason=f"Stripe {event['id']}")):
        notes.append(f"plan {plan.code}")
    target = _FOLLOWS.get(account.subscription_status)
    if target is not None:
        notes.append(_follow(account.merchant, target, event=event))
    return EventOutcome.APPLIED, "; ".join(notes)


def _trial_will_end(account: BillingAccount, sub: dict, created, event: dict) -> Outcome:
    outbox.enqueue("billing.tasks.send_billing_email",
                   kwargs={"kind": "trial_will_end", "merchant_id": account.merchant_id,
                           "when": sub.get("trial_end")})
    return EventOutcome.APPLIED, "reminder e-mailed"


def _checkout_completed(account: BillingAccount, session: dict, created, event: dict) -> Outcome:
    if session.get("mode") != "subscription":
        return EventOutcome.IGNORED, "not a subscription checkout"
    subscription = _id(session.get("subscription"))
    notes = []
    if subscription and not account.has_live_subscription:
        account.stripe_subscription_id = subscription
        account.save(update_fields=["stripe_subscription_id", "updated_at"])
    metadata = session.get("metadata") or {}
    plan = Plan.objects.filter(code=metadata.get("plan", "")).first()
    # The subscription's own events are the reference; until one has come, the plan the
    # merchant paid for at Checkout.
    if (plan is not None and account.subscription_synced_at is None
            and services.merchant_plan_set(merchant=account.merchant, plan=plan,
                                           reason=f"Stripe {event['id']}")):
        notes.append(f"plan {plan.code}")
    if session.get("payment_status") in ("paid", "no_payment_required"):
        notes.append(_follow(account.merchant, MerchantStatus.ACTIVE, event=event))
    return EventOutcome.APPLIED, "; ".join(notes) or "linked"


def _invoice(account: BillingAccount, inv: dict, created, event: dict) -> Outcome:
    stored = Invoice.objects.select_for_update().filter(stripe_invoice_id=inv["id"]).first()
    status = inv.get("status") or InvoiceStatus.OPEN
    if event["type"] == "invoice.paid":
        status = InvoiceStatus.PAID
    values = {
        "merchant": account.merchant, "number": inv.get("number") or "",
        "currency": inv.get("currency") or "cny",
        "amount_due_fen": int(inv.get("amount_due") or 0),
        "amount_paid_fen": int(inv.get("amount_paid") or 0),
        "billing_reason": inv.get("billing_reason") or "",
        "hosted_invoice_url": inv.get("hosted_invoice_url") or "",
        "period_start": _when(inv.get("period_start")), "period_end": _when(inv.get("period_end")),
        "attempt_count": int(inv.get("attempt_count") or 0),
        "next_payment_attempt": _when(inv.get("next_payment_attempt")),
        "stripe_created": _when(inv.get("created")) or created, "status": status,
    }
    if stored is None:
        stored = Invoice.objects.create(stripe_invoice_id=inv["id"], **values)
    elif INVOICE_STATUS_RANK.get(status, 0) >= INVOICE_STATUS_RANK.get(stored.status, 0):
        for name, value in values.items():
            setattr(stored, name, value)
        stored.save()
    else:
        return EventOutcome.STALE, f"invoice already {stored.status}"
    merchant = Merchant.objects.get(pk=account.merchant_id)
    if event["type"] == "invoice.paid":
        unpaid = Invoice.objects.filter(
            merchant=merchant, status=InvoiceStatus.OPEN, attempt_count__gt=0
        ).exists()
        if merchant.status in (MerchantStatus.PAST_DUE, MerchantStatus.SUSPENDED) and not unpaid:
            return EventOutcome.APPLIED, _follow(merchant, MerchantStatus.ACTIVE, event=event)
        return EventOutcome.APPLIED, "invoice paid"
    # invoice.payment_failed
    outbox.enqueue("billing.tasks.send_billing_email",
                   kwargs={"kind": "payment_failed", "merchant_id": merchant.pk,
                           "invoice_id": stored.pk})
    if merchant.status in (MerchantStatus.TRIAL, MerchantStatus.ACTIVE):
        return EventOutcome.APPLIED, _follow(merchant, MerchantStatus.PAST_DUE, event=event)
    return EventOutcome.APPLIED, f"payment failed; mall {merchant.status}"


APPLIERS: dict[str, Callable[[BillingAccount, dict, dt.datetime, dict], Outcome]] = {
    "checkout.session.completed": _checkout_completed,
    "customer.subscription.created": _subscription,
    "customer.subscription.updated": _subscription,
    "customer.subscription.deleted": _subscription,
    "customer.subscription.trial_will_end": _trial_will_end,
    "invoice.paid": _invoice,
    "invoice.payment_failed": _invoice,
}
