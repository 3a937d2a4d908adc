"""The Stripe stand-in through the real `stripe` library (16.x), as the platform calls it:
form-encoded nested parameters, `expand[]`, idempotency keys, the hosted Checkout and
portal pages posted with `requests`, renewals and dunning, and webhooks signed so that
`stripe.Webhook.construct_event` accepts them."""

from __future__ import annotations

import json
import time

import pytest
import requests
import stripe

from simulators.stripe import (
    DEFAULT_API_KEY,
    DEFAULT_WEBHOOK_SECRET,
    StripeSimConfig,
    serve_in_thread,
)
from simulators.stripe.billing import PORTAL_LIFETIME

from .wechat_helpers import CallbackReceiver

GOOD_CARD = {"card_number": "4242 4242 4242 4242", "expiry": "12 / 34", "cvc": "123"}
DECLINED = {**GOOD_CARD, "card_number": "4000 0000 0000 0002"}
FAILS_LATER = {**GOOD_CARD, "card_number": "4000 0000 0000 0341"}
FAST = {"time_scale": 0.00005, "duplicate_probability": 0.0}


@pytest.fixture(scope="module")
def stripe_server():
    server, _ = serve_in_thread(StripeSimConfig(**FAST))
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def receiver():
    receiver = CallbackReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def server(stripe_server):
    yield stripe_server
    stripe_server.simulator.reset()


@pytest.fixture
def client(server) -> stripe.StripeClient:
    return stripe.StripeClient(
        DEFAULT_API_KEY, base_addresses={"api": server.base_url}, max_network_retries=0
    )


@pytest.fixture
def hook(server, receiver) -> str:
    """A fresh webhook URL on the receiver, registered as the configured endpoint."""
    url = receiver.url()
    server.simulator.set_webhook_url(url)
    return url


@pytest.fixture
def catalog(client):
    product = client.v1.products.create({"name": "Growth", "metadata": {"plan": "growth"}})
    monthly = client.v1.prices.create({
        "product": product.id, "unit_amount": 19900, "currency": "cny",
        "recurring": {"interval": "month"}, "lookup_key": "growth_monthly",
        "nickname": "Growth monthly",
    })
    pro = client.v1.prices.create({
        "product": client.v1.products.create({"name": "Pro"}).id, "unit_amount": 49900,
        "currency": "cny", "recurring": {"interval": "month"}, "lookup_key": "pro_monthly",
    })
    return {"product": product, "monthly": monthly, "pro": pro}


def subscribe(client, catalog, card=GOOD_CARD, **extra):
    customer = client.v1.customers.create({"email": "owner@example.com", "name": "Alpha Mall",
                                           "metadata": {"merchant_id": "42"}})
    session = client.v1.checkout.sessions.create({
        "mode": "subscription", "customer": customer.id,
        "line_items": [{"price": catalog["monthly"].id, "quantity": 1}],
        "success_url": "http://mall.test/billing/done?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://mall.test/billing/", "client_reference_id": "merchant-42",
        "metadata": {"merchant_id": "42"},
        "subscription_data": {"metadata": {"merchant_id": "42"}, **extra},
    })
    answer = requests.post(session.url, data=card, allow_redirects=False, timeout=5)
    return customer, session, answer


def events_of(receiver, url, count, timeout=5.0):
    """The first `count` events delivered at `url`, checked and decoded by the real library."""
    deliveries = receiver.wait(url, count, timeout)
    return [
        stripe.Webhook.construct_event(
            d.body, d.headers["Stripe-Signature"], DEFAULT_WEBHOOK_SECRET, tolerance=300
        )
        for d in deliveries
    ]


def test_wrong_key_is_refused(server):
    client = stripe.StripeClient("sk_test_wrong", base_addresses={"api": server.base_url},
                                 max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError) as refused:
        client.v1.customers.create({"email": "x@example.com"})
    assert refused.value.http_status == 401
    assert refused.value.error.type == "invalid_request_error"
    assert not list(server.simulator.state.of_kind("customer"))


def test_customers_products_and_prices(client):
    customer = client.v1.customers.create({"email": "a@example.com", "metadata": {"m": "1"}})
    client.v1.customers.create({"email": "b@example.com"})
    assert [c.id for c in client.v1.customers.list({"email": "a@example.com"}).data] == [
        customer.id
    ]
    assert customer.id.startswith("cus_") and customer.livemode is False
    updated = client.v1.customers.update(customer.id, {"name": "Alpha", "metadata": {"m": ""}})
    assert updated.name == "Alpha" and updated.metadata.to_dict() == {}
    assert client.v1.customers.retrieve(customer.id).email == "a@example.com"
    product = client.v1.products.create({"name": "Starter"})
    assert client.v1.products.retrieve(product.id).name == "Starter"
    monthly = client.v1.prices.create({
        "product": product.id, "unit_amount": 9900, "currency": "cny",
        "recurring": {"interval": "month"}, "lookup_key": "starter_monthly",
    })
    yearly = client.v1.prices.create({
        "product": product.id, "unit_amount": 99000, "currency": "cny",
        "recurring": {"interval": "year"}, "lookup_key": "starter_yearly",
    })
    assert monthly.recurring.interval == "month" and monthly.type == "recurring"
    assert client.v1.prices.retrieve(yearly.id).unit_amount == 99000
    found = client.v1.prices.list({"lookup_keys": ["starter_monthly", "starter_yearly"],
                                   "active": True})
    assert found.object == "list" and found.has_more is False
    assert {p.id for p in found.data} == {monthly.id, yearly.id}
    with pytest.raises(stripe.InvalidRequestError) as taken:
        client.v1.prices.create({"product": product.id, "unit_amount": 9800, "currency": "cny",
                                 "recurring": {"interval": "month"},
                                 "lookup_key": "starter_monthly"})
    assert taken.value.http_status == 400 and taken.value.error.param == "lookup_key"
    moved = client.v1.prices.create({
        "product": product.id, "unit_amount": 9800, "currency": "cny",
        "recurring": {"interval": "month"}, "lookup_key": "starter_monthly",
        "transfer_lookup_key": True,
    })
    now_found = client.v1.prices.list({"lookup_keys": ["starter_monthly"]}).data
    assert [p.id for p in now_found] == [moved.id]
    with pytest.raises(stripe.InvalidRequestError) as bad:
        client.v1.prices.create({"product": product.id, "unit_amount": 1, "currency": "cny",
                                 "recurring": {"interval": "fortnight"}})
    assert bad.value.error.param == "recurring[interval]"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.customers.retrieve("cus_missing")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"


def test_idempotency_key_replays_and_refuses_other_parameters(client, server):
    first = client.v1.customers.create({"email": "once@example.com"},
                                       {"idempotency_key": "signup-1"})
    again = client.v1.customers.create({"email": "once@example.com"},
                                       {"idempotency_key": "signup-1"})
    assert again.id == first.id
    assert len(list(server.simulator.state.of_kind("customer"))) == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create({"email": "other@example.com"},
                                   {"idempotency_key": "signup-1"})


def test_api_down_answers_503_until_it_is_back(client, server):
    requests.post(f"{server.base_url}/_sim/settings", json={"api_down": True},
                  timeout=5).raise_for_status()
    with pytest.raises(stripe.APIError) as down:
        client.v1.customers.create({"email": "down@example.com"})
    assert down.value.http_status == 503
    requests.post(f"{server.base_url}/_sim/settings", json={"api_down": False}, timeout=5)
    assert client.v1.customers.create({"email": "up@example.com"}).id.startswith("cus_")


def test_checkout_creates_the_subscription_and_sends_signed_events_in_order(
    client, catalog, receiver, hook
):
    customer, session, answer = subscribe(client, catalog)
    assert session.id.startswith("cs_test_") and session.status == "open"
    assert session.subscription is None and session.payment_status == "unpaid"
    assert answer.status_code == 303
    assert answer.headers["Location"] == (
        f"http://mall.test/billing/done?session={session.id}"
    )
    done = client.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription"]})
    assert done.status == "complete" and done.payment_status == "paid"
    subscription = done.subscription
    assert subscription.status == "active"
    assert subscription.metadata.to_dict() == {"merchant_id": "42"}
    item = subscription["items"].data[0]
    assert item.price.id == catalog["monthly"].id and item.price.unit_amount == 19900
    assert item.current_period_end == subscription.current_period_end
    invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
    assert (invoice.status, invoice.billing_reason, invoice.amount_paid) == (
        "paid", "subscription_create", 19900
    )
    assert invoice.parent.subscription_details.subscription == subscription.id
    events = events_of(receiver, hook, 3)
    assert [e.type for e in events] == [
        "customer.subscription.created", "invoice.paid", "checkout.session.completed"
    ]
    assert events[2].data.object.client_reference_id == "merchant-42"
    assert events[2].data.object.subscription == subscription.id
    assert events[0].api_version == "2025-03-31.basil"
    delivery = receiver.at(hook)[0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            delivery.body.replace(b"active", b"canceled"),
            delivery.headers["Stripe-Signature"], DEFAULT_WEBHOOK_SECRET,
        )
    page = requests.get(session.url, timeout=5)
    assert "complete" in page.text


def test_checkout_page_and_declined_card(client, catalog, server):
    customer = client.v1.customers.create({"email": "d@example.com"})
    session = client.v1.checkout.sessions.create({
        "mode": "subscription", "customer": customer.id,
        "line_items": [{"price": catalog["monthly"].id, "quantity": 1}],
        "success_url": "http://mall.test/ok", "cancel_url": "http://mall.test/cancel",
    })
    page = requests.get(session.url, timeout=5)
    assert page.status_code == 200
    for text in ("Growth", "¥199.00", "4242 4242 4242 4242", "Subscribe", "http://mall.test/cancel"):
        assert text in page.text
    declined = requests.post(session.url, data=DECLINED, timeout=5)
    assert "Your card was declined" in declined.text
    assert not list(server.simulator.state.of_kind("subscription"))
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    with pytest.raises(stripe.InvalidRequestError) as one_time:
        client.v1.checkout.sessions.create({
            "mode": "subscription", "customer": customer.id, "success_url": "http://x/",
            "line_items": [{"price": "price_missing", "quantity": 1}],
        })
    assert one_time.value.error.param == "line_items[0][price]"


def test_trial_then_trial_will_end_and_conversion(client, catalog, receiver, hook, server):
    trial_end = int(time.time()) + 14 * 86400
    _, session, _ = subscribe(client, catalog, trial_end=trial_end)
    subscription = client.v1.subscriptions.retrieve(
        client.v1.checkout.sessions.retrieve(session.id).subscription
    )
    assert subscription.status == "trialing" and subscription.trial_end == trial_end
    first = client.v1.invoices.retrieve(subscription.latest_invoice)
    assert (first.amount_due, first.status) == (0, "paid")
    base = server.base_url
    requests.post(f"{base}/_sim/subscriptions/{subscription.id}/trial_will_end",
                  timeout=5).raise_for_status()
    renewed = requests.post(f"{base}/_sim/subscriptions/{subscription.id}/renew", timeout=5)
    assert renewed.json()["status"] == "active"
    assert renewed.json()["current_period_start"] == trial_end
    events = events_of(receiver, hook, 6)
    assert [e.type for e in events[3:]] == [
        "customer.subscription.trial_will_end", "invoice.paid", "customer.subscription.updated"
    ]
    assert events[5].data.previous_attributes["status"] == "trialing"
    assert events[4].data.object.amount_paid == 19900
    assert events[4].data.object.billing_reason == "subscription_cycle"


def test_failing_card_goes_past_due_and_a_new_card_in_the_portal_pays(
    client, catalog, receiver, hook, server
):
    customer, session, answer = subscribe(client, catalog, card=FAILS_LATER)
    assert answer.status_code == 303  # the first charge succeeds
    subscription_id = client.v1.checkout.sessions.retrieve(session.id).subscription
    renewed = requests.post(f"{server.base_url}/_sim/subscriptions/{subscription_id}/renew",
                            timeout=5).json()
    assert renewed["status"] == "past_due"
    invoice = client.v1.invoices.retrieve(renewed["latest_invoice"])
    assert invoice.status == "open" and invoice.attempt_count == 1
    assert invoice.next_payment_attempt > time.time()
    retried = requests.post(f"{server.base_url}/_sim/invoices/{invoice.id}/retry", timeout=5)
    assert retried.json()["attempt_count"] == 2
    with pytest.raises(stripe.CardError):
        client.v1.invoices.pay(invoice.id)
    portal = client.v1.billing_portal.sessions.create(
        {"customer": customer.id, "return_url": "http://mall.test/billing/"}
    )
    assert portal.url.endswith(f"/portal/{portal.id}") and portal.id.startswith("bps_")
    page = requests.get(portal.url, timeout=5)
    assert "past_due" in page.text and "Return to" in page.text
    declined = requests.post(portal.url, data={"action": "update_card", **DECLINED}, timeout=5)
    assert "Your card was declined" in declined.text
    paid = requests.post(portal.url, data={"action": "update_card", **GOOD_CARD}, timeout=5)
    assert "Your card was updated" in paid.text
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"
    assert client.v1.subscriptions.retrieve(subscription_id).status == "active"
    types = [e.type for e in events_of(receiver, hook, 9)]
    assert types[3:] == [
        "invoice.payment_failed", "customer.subscription.updated",  # renewal
        "invoice.payment_failed",  # /_sim retry
        "invoice.payment_failed",  # API pay
        "invoice.paid", "customer.subscription.updated",  # new card
    ]


def test_decline_all_and_cancel_at_period_end(client, catalog, receiver, hook, server):
    customer, session, _ = subscribe(client, catalog)
    subscription_id = client.v1.checkout.sessions.retrieve(session.id).subscription
    requests.post(f"{server.base_url}/_sim/settings", json={"decline_all": True}, timeout=5)
    failed = requests.post(f"{server.base_url}/_sim/subscriptions/{subscription_id}/renew",
                           timeout=5).json()
    assert failed["status"] == "past_due"
    requests.post(f"{server.base_url}/_sim/settings", json={"decline_all": False}, timeout=5)
    client.v1.invoices.pay(failed["latest_invoice"])
    assert client.v1.subscriptions.retrieve(subscription_id).status == "active"
    ending = client.v1.subscriptions.update(subscription_id, {"cancel_at_period_end": True})
    assert ending.cancel_at == ending.current_period_end
    ended = requests.post(f"{server.base_url}/_sim/subscriptions/{subscription_id}/renew",
                          timeout=5).json()
    assert ended["status"] == "canceled" and ended["ended_at"] == ending.current_period_end
    types = [e.type for e in events_of(receiver, hook, 9)]
    assert types[3:] == [
        "invoice.payment_failed", "customer.subscription.updated",
        "invoice.paid", "customer.subscription.updated",
        "customer.subscription.updated", "customer.subscription.deleted",
    ]
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []
    everything = client.v1.subscriptions.list({"customer": customer.id, "status": "all"})
    assert [s.id for s in everything.data] == [subscription_id]


def test_plan_change_with_proration_and_immediate_cancel(client, catalog, receiver, hook):
    customer, session, _ = subscribe(client, catalog)
    subscription = client.v1.subscriptions.retrieve(
        client.v1.checkout.sessions.retrieve(session.id).subscription
    )
    item = subscription["items"].data[0]
    changed = client.v1.subscriptions.update(subscription.id, {
        "items": [{"id": item.id, "price": catalog["pro"].id}],
        "proration_behavior": "always_invoice",
        "metadata": {"plan": "pro"},
    })
    assert changed["items"].data[0].price.id == catalog["pro"].id
    invoices = client.v1.invoices.list({"subscription": subscription.id, "limit": 10}).data
    proration = invoices[0]
    assert proration.billing_reason == "subscription_update" and proration.status == "paid"
    assert 29900 - 100 <= proration.amount_paid <= 30000  # nearly a whole period's difference
    assert len(proration.lines.data) == 2 and proration.lines.data[0].amount < 0
    preview = client.v1.invoices.create_preview({"customer": customer.id,
                                                 "subscription": subscription.id})
    assert preview.amount_due == 49900 and preview.billing_reason == "upcoming"
    assert preview.next_payment_attempt == changed.current_period_end
    quiet = client.v1.subscriptions.update(subscription.id, {
        "items": [{"id": item.id, "price": catalog["monthly"].id}],
        "proration_behavior": "none",
    })
    assert quiet["items"].data[0].price.id == catalog["monthly"].id
    assert len(client.v1.invoices.list({"customer": customer.id}).data) == 2
    canceled = client.v1.subscriptions.cancel(subscription.id)
    assert canceled.status == "canceled" and canceled.ended_at
    events = events_of(receiver, hook, 7)
    assert [e.type for e in events[3:]] == [
        "invoice.paid", "customer.subscription.updated",
        "customer.subscription.updated", "customer.subscription.deleted",
    ]
    updated = [e for e in events if e.type == "customer.subscription.updated"]
    previous = updated[0].data.previous_attributes.to_dict()
    assert previous["metadata"] == {"merchant_id": "42"}
    assert previous["items"]["data"][0]["price"]["id"] == catalog["monthly"].id


def test_portal_plan_change_cancel_and_expiry(client, catalog, receiver, hook, server):
    customer, session, _ = subscribe(client, catalog)
    subscription_id = client.v1.checkout.sessions.retrieve(session.id).subscription
    portal = client.v1.billing_portal.sessions.create({"customer": customer.id,
                                                       "return_url": "http://mall.test/b/"})
    page = requests.get(portal.url, timeout=5).text
    assert "Pro" in page and "http://mall.test/b/" in page and "Renews on" in page
    changed = requests.post(portal.url, data={"action": "change_plan",
                                              "price": catalog["pro"].id}, timeout=5)
    assert "Your plan was changed" in changed.text
    subscription = client.v1.subscriptions.retrieve(subscription_id)
    assert subscription["items"].data[0].price.id == catalog["pro"].id
    requests.post(portal.url, data={"action": "cancel"}, timeout=5)
    assert client.v1.subscriptions.retrieve(subscription_id).cancel_at_period_end is True
    requests.post(portal.url, data={"action": "renew"}, timeout=5)
    assert client.v1.subscriptions.retrieve(subscription_id).cancel_at_period_end is False
    types = [e.type for e in events_of(receiver, hook, 7)]
    assert types[3:] == ["invoice.paid", "customer.subscription.updated",
                         "customer.subscription.updated", "customer.subscription.updated"]
    with server.simulator.state.lock:
        server.simulator.state.objects[portal.id]["created"] -= PORTAL_LIFETIME + 1
    assert requests.get(portal.url, timeout=5).status_code == 410


def test_webhook_endpoints_filter_and_retry_until_acknowledged(client, receiver, server):
    server.simulator.set_webhook_url(None)
    url = receiver.url()
    receiver.answer(url, 500, 503)
    endpoint = client.v1.webhook_endpoints.create(
        {"url": url, "enabled_events": ["customer.subscription.trial_will_end"]}
    )
    assert endpoint.secret.startswith("whsec_") and endpoint.status == "enabled"
    listed_endpoint = client.v1.webhook_endpoints.list().data[0].to_dict()
    assert listed_endpoint["id"] == endpoint.id
    assert "secret" not in listed_endpoint and "_secret" not in listed_endpoint
    catalog_product = client.v1.products.create({"name": "Trial"})
    price = client.v1.prices.create({"product": catalog_product.id, "unit_amount": 100,
                                     "currency": "cny", "recurring": {"interval": "month"}})
    customer, session, _ = subscribe(client, {"monthly": price},
                                     trial_end=int(time.time()) + 86400)
    subscription_id = client.v1.checkout.sessions.retrieve(session.id).subscription
    requests.post(f"{server.base_url}/_sim/subscriptions/{subscription_id}/trial_will_end",
                  timeout=5).raise_for_status()
    deliveries = receiver.wait(url, 3)
    assert len(deliveries) == 3
    event = stripe.Webhook.construct_event(deliveries[2].body,
                                           deliveries[2].headers["Stripe-Signature"],
                                           endpoint.secret)
    assert event.type == "customer.subscription.trial_will_end"

    def logged() -> list:
        log = requests.get(f"{server.base_url}/_sim/events",
                           params={"type": event.type}, timeout=5).json()["data"][0]
        return [d["status_code"] for d in log["deliveries"]]

    deadline = time.monotonic() + 5
    while len(logged()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)  # the receiver saw the answer before the stand-in logged it
    assert logged() == [500, 503, 200]
    assert client.v1.events.retrieve(event.id).type == event.type
    listed = client.v1.events.list({"type": "customer.subscription.trial_will_end"}).data
    assert [e.id for e in listed] == [event.id]
    requests.post(f"{server.base_url}/_sim/events/{event.id}/resend", timeout=5)
    assert json.loads(receiver.wait(url, 4)[3].body)["id"] == event.id
    client.v1.webhook_endpoints.delete(endpoint.id)
    assert client.v1.webhook_endpoints.list().data == []


def test_index_page_lists_subscriptions_with_buttons(client, catalog, server):
    subscribe(client, catalog)
    page = requests.get(f"{server.base_url}/_sim/", timeout=5)
    assert page.status_code == 200 and "Renew now" in page.text and "owner@example.com" in page.text
    subscription = next(server.simulator.state.of_kind("subscription"))
    pressed = requests.post(f"{server.base_url}/_sim/subscriptions/{subscription['id']}/renew",
                            data={"go": "1"}, allow_redirects=False, timeout=5)
    assert pressed.status_code == 303
    assert len(list(server.simulator.state.of_kind("invoice"))) == 2


def test_global_module_configuration_works_too(server):
    """The platform may set `stripe.api_key` / `stripe.api_base` instead of a client."""
    saved = stripe.api_key, stripe.api_base
    stripe.api_key, stripe.api_base = DEFAULT_API_KEY, server.base_url
    try:
        customer = stripe.Customer.create(email="global@example.com")
        assert stripe.Customer.retrieve(customer.id).email == "global@example.com"
    finally:
        stripe.api_key, stripe.api_base = saved


def test_checkout_without_customer_and_an_expired_session(client, catalog, server):
    session = client.v1.checkout.sessions.create({
        "mode": "subscription", "success_url": "http://mall.test/ok",
        "line_items": [{"price": catalog["monthly"].id, "quantity": 1}],
        "customer_email": "new@example.com",
    })
    page = requests.get(session.url, timeout=5)
    assert "name='email'" in page.text and "new@example.com" in page.text
    no_email = requests.post(session.url, data={**GOOD_CARD, "email": ""}, timeout=5)
    assert no_email.status_code == 402 and "email address" in no_email.text
    bad_number = requests.post(session.url, data={**GOOD_CARD, "email": "n@example.com",
                                                  "card_number": "4242 4242 4242 4241"},
                               timeout=5)
    assert "card number is invalid" in bad_number.text
    done = requests.post(session.url, data={**GOOD_CARD, "email": "n@example.com"},
                         allow_redirects=False, timeout=5)
    assert done.status_code == 303
    completed = client.v1.checkout.sessions.retrieve(session.id)
    assert client.v1.customers.retrieve(completed.customer).email == "n@example.com"
    other = client.v1.checkout.sessions.create({
        "mode": "subscription", "success_url": "http://mall.test/ok",
        "line_items": [{"price": catalog["monthly"].id, "quantity": 1}],
    })
    assert client.v1.checkout.sessions.expire(other.id).status == "expired"
    expired = requests.post(other.url, data={**GOOD_CARD, "email": "n@example.com"}, timeout=5)
    assert "expired" in expired.text
    assert len(list(server.simulator.state.of_kind("subscription"))) == 1


def test_dunning_ends_unpaid_after_the_last_retry(client, catalog, server):
    _, session, _ = subscribe(client, catalog, card=FAILS_LATER)
    subscription_id = client.v1.checkout.sessions.retrieve(session.id).subscription
    base = server.base_url
    invoice_id = requests.post(f"{base}/_sim/subscriptions/{subscription_id}/renew",
                               timeout=5).json()["latest_invoice"]
    for _ in range(3):
        last = requests.post(f"{base}/_sim/invoices/{invoice_id}/retry", timeout=5).json()
    assert last["attempt_count"] == 4 and last["next_payment_attempt"] is None
    assert client.v1.subscriptions.retrieve(subscription_id).status == "unpaid"
    paid = requests.post(f"{base}/invoice/{invoice_id}", data=GOOD_CARD, timeout=5)
    assert "paid" in paid.text
    assert client.v1.subscriptions.retrieve(subscription_id).status == "active"
    again = requests.post(f"{base}/_sim/invoices/{invoice_id}/retry", timeout=5)
    assert again.status_code == 400 and again.json()["error"]["code"] == "invoice_not_open"


def test_create_prorations_are_billed_at_the_next_renewal(client, catalog, server):
    _, session, _ = subscribe(client, catalog)
    subscription = client.v1.subscriptions.retrieve(
        client.v1.checkout.sessions.retrieve(session.id).subscription
    )
    client.v1.subscriptions.update(subscription.id, {
        "items": [{"id": subscription["items"].data[0].id, "price": catalog["pro"].id}],
    })
    assert len(client.v1.invoices.list({"subscription": subscription.id}).data) == 1
    renewed = requests.post(f"{server.base_url}/_sim/subscriptions/{subscription.id}/renew",
                            timeout=5).json()
    invoice = client.v1.invoices.retrieve(renewed["latest_invoice"])
    assert len(invoice.lines.data) == 3
    assert invoice.lines.data[0].amount == 49900
    assert 49900 + 29900 - 100 <= invoice.amount_paid <= 49900 + 30000


def test_duplicates_bad_parameters_unknown_urls_and_reset(client, server, receiver, hook):
    requests.post(f"{server.base_url}/_sim/settings", json={"duplicate_probability": 1},
                  timeout=5).raise_for_status()
    customer = client.v1.customers.create({"email": "dup@example.com"})
    portal = client.v1.billing_portal.sessions.create({"customer": customer.id})
    assert portal.return_url is None
    product = client.v1.products.create({"name": "Dup"})
    price = client.v1.prices.create({"product": product.id, "unit_amount": 100,
                                     "currency": "cny", "recurring": {"interval": "month"}})
    subscribe(client, {"monthly": price})
    delivered = [json.loads(d.body)["id"] for d in receiver.wait(hook, 6)]
    assert len(set(delivered)) == 3
    assert all(delivered.count(event_id) == 2 for event_id in delivered)
    with pytest.raises(stripe.InvalidRequestError) as bad:
        client.v1.prices.create({"product": product.id, "unit_amount": "lots",
                                 "currency": "cny"})
    assert bad.value.error.param == "unit_amount"
    unknown = requests.get(f"{server.base_url}/v1/refunds/re_1",
                           headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"}, timeout=5)
    assert unknown.status_code == 404 and unknown.json()["error"]["type"]
    refused = requests.post(f"{server.base_url}/_sim/settings", json={"nope": 1}, timeout=5)
    assert refused.status_code == 400
    requests.post(f"{server.base_url}/_sim/reset", timeout=5).raise_for_status()
    assert client.v1.customers.list().data == []
    assert server.simulator.config.duplicate_probability == 0.0


def test_from_environment_registers_the_platform_endpoint(monkeypatch):
    """What `make run` starts under gunicorn: the endpoint exists before any API call."""
    from werkzeug.test import Client as WsgiClient

    from simulators.stripe import from_environment

    monkeypatch.setenv("STRIPE_SIM_PUBLIC_URL", "http://localhost:8002/")
    monkeypatch.setenv("STRIPE_SIM_API_KEY", "sk_test_from_env")
    monkeypatch.setenv("STRIPE_SIM_WEBHOOK_URL", "http://localhost:8000/billing/stripe/webhook/")
    monkeypatch.setenv("STRIPE_SIM_WEBHOOK_SECRET", "whsec_from_env")
    monkeypatch.setenv("STRIPE_SIM_TIME_SCALE", "0.5")
    simulator = from_environment()
    try:
        wsgi = WsgiClient(simulator)
        refused = wsgi.get("/v1/webhook_endpoints",
                           headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"})
        assert refused.status_code == 401
        listed = wsgi.get("/v1/webhook_endpoints",
                          headers={"Authorization": "Bearer sk_test_from_env"}).json["data"]
        assert [(e["url"], e["enabled_events"]) for e in listed] == [
            ("http://localhost:8000/billing/stripe/webhook/", ["*"])
        ]
        endpoint = simulator.state.get(listed[0]["id"], "webhook_endpoint")
        assert endpoint["_secret"] == "whsec_from_env"
        assert simulator.config.public_url == "http://localhost:8002"
        assert simulator.config.time_scale == 0.5
    finally:
        simulator.close()


def test_a_state_file_keeps_stripe_across_restarts(tmp_path, receiver):
    """`make run` keeps the ids its database holds valid after a restart."""
    config = StripeSimConfig(state_file=str(tmp_path / "state.json"),
                             webhook_url=receiver.url(), **FAST)
    first, _ = serve_in_thread(config)
    client = stripe.StripeClient(DEFAULT_API_KEY, base_addresses={"api": first.base_url},
                                 max_network_retries=0)
    customer = client.v1.customers.create({"email": "kept@example.com"},
                                          {"idempotency_key": "customer-1"})
    first.shutdown()
    second, _ = serve_in_thread(config)
    try:
        client = stripe.StripeClient(DEFAULT_API_KEY, base_addresses={"api": second.base_url},
                                     max_network_retries=0)
        assert client.v1.customers.retrieve(customer.id).email == "kept@example.com"
        again = client.v1.customers.create({"email": "kept@example.com"},
                                           {"idempotency_key": "customer-1"})
        assert again.id == customer.id
        assert len(client.v1.webhook_endpoints.list().data) == 1
    finally:
        second.shutdown()
