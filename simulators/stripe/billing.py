"""Stripe Billing as the platform uses it: customers, products, prices, Checkout Sessions,
subscriptions with their invoices, payment methods, billing portal sessions, webhook
endpoints and events. Objects are kept in Stripe's own shape (ids as references) and
returned as copies; callers hold `state.lock` (an RLock) around every operation.

Test cards: 4000 0000 0000 0002 is declined; 4000 0000 0000 0341 attaches and its first
charge (the Checkout that attached it) succeeds, every later charge fails; any other
Luhn-valid number succeeds. `decline_all` makes every charge fail."""

from __future__ import annotations

import calendar
import copy
import threading
from datetime import UTC, datetime

from .config import StripeSimConfig
from .errors import card_declined, invalid, missing_param, no_such
from .forms import Params
from .state import StripeState, new_id, now
from .webhooks import WebhookDispatcher

API_VERSION = "2025-03-31.basil"
DECLINED_CARD = "4000000000000002"
FAILS_AFTER_ATTACH_CARD = "4000000000000341"
CHECKOUT_LIFETIME = 24 * 3600
PORTAL_LIFETIME = 3600
RETRY_DAYS = (3, 5, 7)  # next_payment_attempt after the 1st, 2nd, 3rd failure; then unpaid
INTERVALS = ("month", "year")
KIND_NAMES = {
    "customer": "customer",
    "product": "product",
    "price": "price",
    "checkout.session": "checkout.session",
    "subscription": "subscription",
    "invoice": "invoice",
    "event": "event",
    "webhook_endpoint": "webhook endpoint",
    "billing_portal.session": "billing portal session",
    "payment_method": "payment method",
}
BRANDS = {"4": "visa", "5": "mastercard", "3": "amex", "6": "unionpay"}

# The request an event was caused by (set by the app for /v1 calls).
_request = threading.local()


def set_request(request_id: str | None, idempotency_key: str | None) -> None:
    _request.value = {"id": request_id, "idempotency_key": idempotency_key}


def clear_request() -> None:
    _request.value = None


def current_request() -> dict:
    return getattr(_request, "value", None) or {"id": None, "idempotency_key": None}


def public(obj: dict) -> dict:
    """A copy without the stand-in's private fields (those starting with `_`)."""
    return {key: copy.deepcopy(value) for key, value in obj.items() if not key.startswith("_")}


def add_interval(moment: int, interval: str) -> int:
    """Stripe's period arithmetic: the same day next month (clamped) or next year."""
    when = datetime.fromtimestamp(moment, UTC)
    months = 1 if interval == "month" else 12
    year, month = divmod(when.month - 1 + months, 12)
    year, month = when.year + year, month + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return int(when.replace(year=year, month=month, day=day).timestamp())


def luhn_ok(number: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def money(amount: int, currency: str) -> str:
    symbol = "¥" if currency == "cny" else currency.upper() + " "
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount) // 100}.{abs(amount) % 100:02d}"


class CardError(Exception):
    """A card form that cannot be used (shown on the hosted page)."""


class Billing:
    def __init__(self, config: StripeSimConfig, state: StripeState, webhooks: WebhookDispatcher):
        self.config = config
        self.state = state
        self.webhooks = webhooks

    # Lookup ----------------------------------------------------------------------------------

    def find(self, kind: str, object_id: str | None, param: str = "id") -> dict:
        obj = self.state.get(object_id or "", kind)
        if obj is None:
            raise no_such(KIND_NAMES[kind], object_id or "", param)
        return obj

    def lookup_any(self, object_id: str) -> dict | None:
        """For `expand[]`: any object by id, as the API shows it."""
        obj = self.state.objects.get(object_id)
        return self.render(obj) if obj is not None else None

    def render(self, obj: dict) -> dict:
        return public(obj)

    def _base(self, prefix: str, kind: str, **fields) -> dict:
        return {"id": new_id(prefix), "object": kind, "created": now(), "livemode": False,
                **fields}

    # Events ----------------------------------------------------------------------------------

    def emit(self, type_: str, obj: dict, previous: dict | None = None) -> dict:
        data = {"object": self.render(obj)}
        if previous:
            data["previous_attributes"] = previous
        event = self.state.add(self._base(
            "evt_", "event", api_version=API_VERSION, type=type_, pending_webhooks=0,
            request=current_request(), data=data,
        ))
        event["pending_webhooks"] = self.webhooks.publish(event)
        return event

    @staticmethod
    def changes(before: dict, after: dict) -> dict:
        """`data.previous_attributes`: the old value of every top-level field that changed."""
        return {
            key: value for key, value in before.items()
            if not key.startswith("_") and after.get(key) != value
        }

    # Customers, products, prices ---------------------------------------------------------------

    def create_customer(self, params: Params) -> dict:
        return self.state.add(self._base(
            "cus_", "customer",
            email=params.string("email"), name=params.string("name"),
            description=params.string("description"), metadata=params.metadata(),
            balance=0, currency="cny", delinquent=False,
            invoice_settings={"default_payment_method": None},
            invoice_prefix=new_id("", 8).upper(),
        ))

    def update_customer(self, customer_id: str, params: Params) -> dict:
        customer = self.find("customer", customer_id)
        for name in ("email", "name", "description"):
            if name in params:
                customer[name] = params.string(name)
        customer["metadata"] = params.metadata(current=customer["metadata"])
        settings = params.sub("invoice_settings")
        if "default_payment_method" in settings:
            pm_id = settings.string("default_payment_method")
            if pm_id is not None:
                self._customer_card(customer, pm_id, "invoice_settings[default_payment_method]")
            customer["invoice_settings"]["default_payment_method"] = pm_id
        return customer

    def create_product(self, params: Params) -> dict:
        return self.state.add(self._base(
            "prod_", "product", name=params.string("name", required=True),
            description=params.string("description"), active=params.boolean("active") is not False,
            metadata=params.metadata(), updated=now(),
        ))

    def update_product(self, product_id: str, params: Params) -> dict:
        product = self.find("product", product_id)
        for name in ("name", "description"):
            if name in params:
                product[name] = params.string(name, required=name == "name")
        if params.boolean("active") is not None:
            product["active"] = params.boolean("active")
        product["metadata"] = params.metadata(current=product["metadata"])
        product["updated"] = now()
        return product

    def create_price(self, params: Params) -> dict:
        product = self.find("product", params.string("product", required=True), "product")
        amount = params.integer("unit_amount", required=True, minimum=0)
        currency = (params.string("currency", required=True) or "").lower()
        if len(currency) != 3 or not currency.isalpha():
            raise invalid(f"Invalid currency: {currency}", param="currency")
        recurring = None
        if "recurring" in params:
            sub = params.sub("recurring")
            interval = sub.choice("interval", INTERVALS, required=True)
            recurring = {"interval": interval, "interval_count": 1, "usage_type": "licensed",
                         "meter": None, "trial_period_days": None, "aggregate_usage": None}
        lookup_key = params.string("lookup_key")
        if lookup_key:
            self._claim_lookup_key(lookup_key, params.boolean("transfer_lookup_key"))
        return self.state.add(self._base(
            "price_", "price", active=params.boolean("active") is not False,
            currency=currency, unit_amount=amount, unit_amount_decimal=str(amount),
            product=product["id"], recurring=recurring,
            type="recurring" if recurring else "one_time", billing_scheme="per_unit",
            lookup_key=lookup_key, nickname=params.string("nickname"),
            metadata=params.metadata(), tax_behavior="unspecified",
        ))

    def update_price(self, price_id: str, params: Params) -> dict:
        price = self.find("price", price_id)
        if params.boolean("active") is not None:
            price["active"] = params.boolean("active")
        if "nickname" in params:
            price["nickname"] = params.string("nickname")
        if "lookup_key" in params:
            lookup_key = params.string("lookup_key")
            if lookup_key and lookup_key != price["lookup_key"]:
                self._claim_lookup_key(lookup_key, params.boolean("transfer_lookup_key"))
            price["lookup_key"] = lookup_key
        price["metadata"] = params.metadata(current=price["metadata"])
        return price

    def _claim_lookup_key(self, lookup_key: str, transfer: bool | None) -> None:
        for other in self.state.of_kind("price"):
            if other["lookup_key"] == lookup_key:
                if not transfer:
                    raise invalid(
                        f"A price ({other['id']}) already uses that lookup key.",
                        param="lookup_key",
                    )
                other["lookup_key"] = None

    def list_prices(self, params: Params) -> list[dict]:
        lookup_keys = params.strings("lookup_keys")
        active = params.boolean("active")
        product = params.string("product")
        type_ = params.choice("type", ("one_time", "recurring"))
        return [
            price for price in self.state.of_kind("price")
            if (not lookup_keys or price["lookup_key"] in lookup_keys)
            and (active is None or price["active"] == active)
            and (product is None or price["product"] == product)
            and (type_ is None or price["type"] == type_)
        ]

    # Cards -------------------------------------------------------------------------------------

    def add_card(self, customer: dict, number: str, expiry: str, cvc: str) -> dict:
        """Check a card form as the hosted pages do and attach it to the customer.
        Raises CardError for a malformed form and StripeError (402) for a declined card."""
        number = "".join(number.split())
        if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn_ok(number):
            raise CardError("Your card number is invalid.")
        month_year = [part.strip() for part in expiry.replace(" ", "").split("/")]
        if len(month_year) != 2 or not all(part.isdigit() for part in month_year):
            raise CardError("Your card's expiration date is incomplete (MM / YY).")
        month, year = int(month_year[0]), int(month_year[1])
        year = year + 2000 if year < 100 else year
        today = datetime.now(UTC)
        if not 1 <= month <= 12 or (year, month) < (today.year, today.month):
            raise CardError("Your card's expiration date is in the past.")
        if not cvc.strip().isdigit() or len(cvc.strip()) not in (3, 4):
            raise CardError("Your card's security code is incomplete.")
        if number == DECLINED_CARD or self.config.decline_all:
            raise card_declined()
        payment_method = self.state.add(self._base(
            "pm_", "payment_method", type="card", customer=customer["id"],
            billing_details={"email": customer.get("email"), "name": customer.get("name")},
            card={"brand": BRANDS.get(number[0], "unknown"), "last4": number[-4:],
                  "exp_month": month, "exp_year": year, "country": "CN", "funding": "credit"},
            metadata={},
        ))
        self.state.cards[payment_method["id"]] = {"number": number, "charges": 0}
        return payment_method

    def _customer_card(self, customer: dict, pm_id: str, param: str) -> dict:
        payment_method = self.find("payment_method", pm_id, param)
        if payment_method["customer"] != customer["id"]:
            raise invalid(f"The payment method {pm_id} does not belong to this customer.",
                          param=param)
        return payment_method

    def charge(self, pm_id: str | None, amount: int) -> bool:
        """Whether charging `amount` to the card succeeds (nothing to charge always does)."""
        if amount <= 0:
            return True
        card = self.state.cards.get(pm_id or "")
        if card is None or self.config.decline_all:
            return False
        card["charges"] += 1
        if card["number"] == FAILS_AFTER_ATTACH_CARD:
            return card["charges"] <= 1
        return True

    def default_card(self, subscription: dict) -> str | None:
        customer = self.state.objects[subscription["customer"]]
        return (subscription.get("default_payment_method")
                or customer["invoice_settings"]["default_payment_method"])

    # Checkout --------------------------------------------------------------------------------

    def create_checkout_session(self, params: Params) -> dict:
        mode = params.choice("mode", ("subscription", "payment", "setup"), required=True)
        if mode != "subscription":
            raise invalid("This stand-in supports mode=subscription only.", param="mode")
        customer_id = params.string("customer")
        if customer_id:
            self.find("customer", customer_id, "customer")
        success_url = params.string("success_url", required=True)
        line_items = params.raw("line_items")
        if not isinstance(line_items, list) or len(line_items) != 1:
            raise invalid("Exactly one line item (a recurring price) is needed.",
                          param="line_items")
        item = Params(line_items[0] if isinstance(line_items[0], dict) else {}, "line_items[0]")
        price = self.find("price", item.string("price", required=True), "line_items[0][price]")
        if price["type"] != "recurring":
            raise invalid("mode=subscription needs a recurring price.",
                          param="line_items[0][price]")
        if not price["active"]:
            raise invalid(f"The price {price['id']} is not active.", param="line_items[0][price]")
        quantity = item.integer("quantity", minimum=1) or 1
        if quantity != 1:
            raise invalid("The stand-in sells quantity 1.", param="line_items[0][quantity]")
        subscription_data = params.sub("subscription_data")
        trial_end = subscription_data.integer("trial_end")
        trial_days = subscription_data.integer("trial_period_days", minimum=1)
        if trial_days is not None:
            if trial_end is not None:
                raise invalid("Pass trial_end or trial_period_days, not both.",
                              param="subscription_data[trial_period_days]")
            trial_end = now() + trial_days * 86400
        if trial_end is not None and trial_end <= now() + 60:
            raise invalid("subscription_data[trial_end] must be in the future.",
                          param="subscription_data[trial_end]")
        created = now()
        session = self._base(
            "cs_test_", "checkout.session", mode=mode, status="open", payment_status="unpaid",
            customer=customer_id, customer_email=params.string("customer_email"),
            subscription=None, invoice=None,
            client_reference_id=params.string("client_reference_id"),
            metadata=params.metadata(), success_url=success_url,
            cancel_url=params.string("cancel_url"), currency=price["currency"],
            amount_subtotal=price["unit_amount"], amount_total=price["unit_amount"],
            expires_at=created + CHECKOUT_LIFETIME,
            _line_items=[{"price": price["id"], "quantity": 1}],
            _subscription_data={"metadata": subscription_data.metadata(),
                                "trial_end": trial_end},
        )
        session["id"] = new_id("cs_test_", 58)
        session["url"] = f"{self.config.public_url}/checkout/{session['id']}"
        return self.state.add(session)

    def checkout_state(self, session: dict) -> dict:
        """Expire an open session whose time is up; returns it."""
        if session["status"] == "open" and session["expires_at"] <= now():
            session["status"] = "expired"
            session["url"] = None
            self.emit("checkout.session.expired", session)
        return session

    def expire_checkout_session(self, session_id: str) -> dict:
        session = self.checkout_state(self.find("checkout.session", session_id))
        if session["status"] != "open":
            raise invalid(f"Only open sessions can be expired; this one is {session['status']}.")
        session["status"] = "expired"
        session["url"] = None
        self.emit("checkout.session.expired", session)
        return session

    def complete_checkout(self, session: dict, form: dict) -> str:
        """The hosted page's Subscribe: attach the card, create the subscription and its
        first invoice, send the events; returns where to send the browser."""
        if session["status"] != "open":
            raise CardError(f"This Checkout session is {session['status']}.")
        if session["customer"]:
            customer = self.state.objects[session["customer"]]
        else:
            email = (form.get("email") or "").strip()
            if "@" not in email:
                raise CardError("Please enter your email address.")
            customer = self.create_customer(Params({"email": email}))
            session["customer"] = customer["id"]
        payment_method = self.add_card(
            customer, form.get("card_number", ""), form.get("expiry", ""), form.get("cvc", "")
        )
        customer["invoice_settings"]["default_payment_method"] = payment_method["id"]
        price = self.state.objects[session["_line_items"][0]["price"]]
        data = session["_subscription_data"]
        subscription, invoice = self._start_subscription(
            customer, price, payment_method["id"], data["metadata"], data["trial_end"]
        )
        if invoice["amount_due"] == 0:
            # A trial charges nothing: attaching counts as the card's first charge, so a
            # card that fails after it fails when the trial converts.
            self.state.cards[payment_method["id"]]["charges"] += 1
        session.update(
            # "paid" even for a trial (Stripe says no_payment_required): the contract's word
            status="complete", payment_status="paid",
            subscription=subscription["id"], invoice=invoice["id"], url=None,
            customer_details={"email": customer["email"], "name": customer["name"]},
        )
        self.emit("customer.subscription.created", subscription)
        self.emit("invoice.paid", invoice)
        self.emit("checkout.session.completed", session)
        return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])

    # Subscriptions -----------------------------------------------------------------------------

    def _start_subscription(
        self, customer: dict, price: dict, pm_id: str, metadata: dict, trial_end: int | None
    ) -> tuple[dict, dict]:
        start = now()
        end = trial_end if trial_end else add_interval(start, price["recurring"]["interval"])
        subscription = self.state.add(self._base(
            "sub_", "subscription", customer=customer["id"],
            status="trialing" if trial_end else "active", currency=price["currency"],
            items=None, current_period_start=start, current_period_end=end,
            billing_cycle_anchor=end if trial_end else start,
            cancel_at_period_end=False, cancel_at=None, canceled_at=None, ended_at=None,
            trial_start=start if trial_end else None, trial_end=trial_end,
            metadata=dict(metadata), latest_invoice=None, default_payment_method=pm_id,
            collection_method="charge_automatically", start_date=start,
            _pending_lines=[],
        ))
        subscription["items"] = {
            "object": "list", "has_more": False, "total_count": 1,
            "url": f"/v1/subscription_items?subscription={subscription['id']}",
            "data": [self._item(subscription, price)],
        }
        amount = 0 if trial_end else price["unit_amount"]
        description = (f"Trial period for {self._product_name(price)}" if trial_end
                       else self._describe(price))
        invoice = self._invoice(
            subscription, "subscription_create",
            [self._line(amount, description, price, start, end)],
        )
        if not self._collect(invoice, pm_id):
            raise card_declined()
        return subscription, invoice

    def _item(self, subscription: dict, price: dict) -> dict:
        return {
            "id": new_id("si_"), "object": "subscription_item", "created": now(),
            "subscription": subscription["id"], "price": self.render(price), "quantity": 1,
            "metadata": {}, "current_period_start": subscription["current_period_start"],
            "current_period_end": subscription["current_period_end"],
        }

    def _set_period(self, subscription: dict, start: int, end: int) -> None:
        subscription["current_period_start"], subscription["current_period_end"] = start, end
        for item in subscription["items"]["data"]:
            item["current_period_start"], item["current_period_end"] = start, end

    def _describe(self, price: dict) -> str:
        amount = money(price["unit_amount"], price["currency"])
        return f"1 × {self._product_name(price)} (at {amount} / {price['recurring']['interval']})"

    def _product_name(self, price: dict) -> str:
        product = self.state.objects.get(price["product"])
        return product["name"] if product else price["product"]

    def subscription_price(self, subscription: dict) -> dict:
        return self.state.objects[subscription["items"]["data"][0]["price"]["id"]]

    def list_subscriptions(self, params: Params) -> list[dict]:
        customer = params.string("customer")
        price = params.string("price")
        status = params.choice(
            "status",
            ("all", "trialing", "active", "past_due", "canceled", "unpaid", "incomplete",
             "incomplete_expired", "paused", "ended"),
        )
        found = []
        for subscription in self.state.of_kind("subscription"):
            if customer and subscription["customer"] != customer:
                continue
            if price and subscription["items"]["data"][0]["price"]["id"] != price:
                continue
            if status is None and subscription["status"] == "canceled":
                continue
            if status not in (None, "all", "ended") and subscription["status"] != status:
                continue
            if status == "ended" and subscription["status"] != "canceled":
                continue
            found.append(subscription)
        return found

    def update_subscription(self, subscription_id: str, params: Params) -> dict:
        """Plan change (with proration), cancel at period end or not, metadata, card."""
        subscription = self.find("subscription", subscription_id)
        if subscription["status"] == "canceled":
            raise invalid("A canceled subscription can only update its metadata.")
        before = self.render(subscription)
        new_price = None
        items = params.raw("items")
        if items is not None:
            if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
                raise invalid("Pass exactly one item: items[0][id] and items[0][price].",
                              param="items")
            item = Params(items[0], "items[0]")
            item_id = item.string("id")
            current = subscription["items"]["data"][0]
            if item_id and item_id != current["id"]:
                raise no_such("subscription item", item_id, "items[0][id]")
            if item_id is None:
                raise missing_param("items[0][id]")
            price_id = item.string("price")
            if price_id and price_id != current["price"]["id"]:
                new_price = self.find("price", price_id, "items[0][price]")
                if new_price["type"] != "recurring" or not new_price["active"]:
                    raise invalid("The new price must be an active recurring price.",
                                  param="items[0][price]")
                if new_price["currency"] != subscription["currency"]:
                    raise invalid("The new price must be in the subscription's currency.",
                                  param="items[0][price]")
        behavior = params.choice(
            "proration_behavior", ("always_invoice", "create_prorations", "none"),
            default="create_prorations",
        )
        pm_id = params.string("default_payment_method")
        if pm_id:
            self._customer_card(self.state.objects[subscription["customer"]], pm_id,
                                "default_payment_method")
        cancel = params.boolean("cancel_at_period_end")
        # All checks done: change things.
        if pm_id:
            subscription["default_payment_method"] = pm_id
        if cancel is not None:
            subscription["cancel_at_period_end"] = cancel
            subscription["cancel_at"] = subscription["current_period_end"] if cancel else None
            subscription["canceled_at"] = now() if cancel else None
        subscription["metadata"] = params.metadata(current=subscription["metadata"])
        invoice = None
        if new_price is not None:
            invoice = self._change_price(subscription, new_price, behavior)
        if invoice is not None:
            self.emit("invoice.paid" if invoice["status"] == "paid" else "invoice.payment_failed",
                      invoice)
        previous = self.changes(before, subscription)
        if previous:
            self.emit("customer.subscription.updated", subscription, previous)
        return subscription

    def _change_price(self, subscription: dict, price: dict, behavior: str) -> dict | None:
        old = self.subscription_price(subscription)
        item = subscription["items"]["data"][0]
        start, end = subscription["current_period_start"], subscription["current_period_end"]
        moment = now()
        lines = []
        if subscription["status"] != "trialing":
            fraction = min(max((end - moment) / max(end - start, 1), 0.0), 1.0)
            unused = -round(old["unit_amount"] * fraction)
            lines.append(self._line(unused, f"Unused time on {self._product_name(old)}",
                                    old, moment, end, proration=True))
            if old["recurring"]["interval"] != price["recurring"]["interval"]:
                # A new interval starts a new billing cycle now, charged in full.
                new_end = add_interval(moment, price["recurring"]["interval"])
                self._set_period(subscription, moment, new_end)
                subscription["billing_cycle_anchor"] = moment
                if subscription["cancel_at_period_end"]:
                    subscription["cancel_at"] = new_end
                lines.append(self._line(price["unit_amount"], f"1 × {self._product_name(price)}",
                                        price, moment, new_end))
            else:
                remaining = round(price["unit_amount"] * fraction)
                lines.append(self._line(remaining,
                                        f"Remaining time on {self._product_name(price)}",
                                        price, moment, end, proration=True))
        item["price"] = self.render(price)
        if not lines or behavior == "none":
            return None
        if behavior == "create_prorations":
            subscription["_pending_lines"].extend(lines)
            return None
        invoice = self._invoice(subscription, "subscription_update", lines)
        if not self._collect(invoice, self.default_card(subscription)):
            subscription["status"] = "past_due"
        return invoice

    def cancel_subscription(self, subscription_id: str) -> dict:
        subscription = self.find("subscription", subscription_id)
        if subscription["status"] == "canceled":
            raise invalid("This subscription is already canceled.")
        moment = now()
        subscription.update(status="canceled", canceled_at=moment, ended_at=moment,
                            cancel_at=None)
        self.emit("customer.subscription.deleted", subscription)
        return subscription

    def renew(self, subscription_id: str) -> dict:
        """Advance to the period end: cancel if asked to, else a new period and its invoice."""
        subscription = self.find("subscription", subscription_id)
        if subscription["status"] == "canceled":
            raise invalid("A canceled subscription does not renew.")
        end = subscription["current_period_end"]
        if subscription["cancel_at_period_end"]:
            subscription.update(status="canceled", ended_at=end, cancel_at=end,
                                canceled_at=subscription["canceled_at"] or now())
            self.emit("customer.subscription.deleted", subscription)
            return subscription
        before = self.render(subscription)
        price = self.subscription_price(subscription)
        new_end = add_interval(end, price["recurring"]["interval"])
        self._set_period(subscription, end, new_end)
        lines = [self._line(
            price["unit_amount"],
            self._describe(price), price, end, new_end,
        )] + subscription["_pending_lines"]
        subscription["_pending_lines"] = []
        invoice = self._invoice(subscription, "subscription_cycle", lines,
                                period=(before["current_period_start"], end))
        paid = self._collect(invoice, self.default_card(subscription))
        if paid:
            subscription["status"] = "active"
        elif subscription["status"] != "unpaid":
            subscription["status"] = "past_due"
        self.emit("invoice.paid" if paid else "invoice.payment_failed", invoice)
        self.emit("customer.subscription.updated", subscription,
                  self.changes(before, subscription))
        return subscription

    def trial_will_end(self, subscription_id: str) -> dict:
        subscription = self.find("subscription", subscription_id)
        if subscription["status"] != "trialing":
            raise invalid("Only a trialing subscription has a trial that will end.")
        return self.emit("customer.subscription.trial_will_end", subscription)

    # Invoices ----------------------------------------------------------------------------------

    def _line(self, amount: int, description: str, price: dict, start: int, end: int,
              proration: bool = False) -> dict:
        return {
            "id": new_id("il_"), "object": "line_item", "amount": amount,
            "currency": price["currency"], "description": description, "quantity": 1,
            "price": self.render(price), "period": {"start": start, "end": end},
            "proration": proration,
        }

    def _invoice(self, subscription: dict, reason: str, lines: list[dict],
                 period: tuple[int, int] | None = None) -> dict:
        customer = self.state.objects[subscription["customer"]]
        total = sum(line["amount"] for line in lines)
        starting_balance = customer["balance"]
        if total < 0:
            customer["balance"] += total
            amount_due = 0
        else:
            credit = min(-starting_balance, total) if starting_balance < 0 else 0
            customer["balance"] += credit
            amount_due = total - credit
        number = self.state.invoice_numbers.get(customer["id"], 0) + 1
        self.state.invoice_numbers[customer["id"]] = number
        start, end = period or (subscription["current_period_start"],
                                subscription["current_period_start"])
        invoice = self._base(
            "in_", "invoice", number=f"{customer['invoice_prefix']}-{number:04d}",
            customer=customer["id"], customer_email=customer["email"],
            subscription=subscription["id"],
            parent={"type": "subscription_details", "quote_details": None,
                    "subscription_details": {"subscription": subscription["id"],
                                             "metadata": dict(subscription["metadata"])}},
            status="open", amount_due=amount_due, amount_paid=0, amount_remaining=amount_due,
            subtotal=total, total=total, starting_balance=starting_balance,
            ending_balance=customer["balance"], currency=subscription["currency"],
            billing_reason=reason, collection_method="charge_automatically",
            attempt_count=0, attempted=False, next_payment_attempt=None,
            period_start=start, period_end=end, hosted_invoice_url=None, invoice_pdf=None,
            status_transitions={"finalized_at": now(), "paid_at": None, "voided_at": None,
                                "marked_uncollectible_at": None},
            lines={"object": "list", "has_more": False, "total_count": len(lines),
                   "data": copy.deepcopy(lines)},
            metadata={},
        )
        invoice["hosted_invoice_url"] = f"{self.config.public_url}/invoice/{invoice['id']}"
        subscription["latest_invoice"] = invoice["id"]
        return self.state.add(invoice)

    def _collect(self, invoice: dict, pm_id: str | None) -> bool:
        """One payment attempt; on failure the invoice stays open with its next attempt
        scheduled (Stripe's smart retries), after the last one the subscription is unpaid."""
        if invoice["amount_due"] > 0:
            invoice["attempt_count"] += 1
            invoice["attempted"] = True
        if self.charge(pm_id, invoice["amount_due"]):
            invoice.update(status="paid", amount_paid=invoice["amount_due"],
                           amount_remaining=0, next_payment_attempt=None, attempted=True)
            invoice["status_transitions"]["paid_at"] = now()
            return True
        failures = invoice["attempt_count"]
        if failures <= len(RETRY_DAYS):
            invoice["next_payment_attempt"] = now() + RETRY_DAYS[failures - 1] * 86400
        else:
            invoice["next_payment_attempt"] = None
        return False

    def preview_invoice(self, params: Params) -> dict:
        """`POST /v1/invoices/create_preview`: what the subscription's next renewal will
        charge (its price for the next period, deferred prorations, the customer's credit),
        with no id and nothing stored, as Stripe answers."""
        subscription = self.find("subscription", params.string("subscription", required=True),
                                 "subscription")
        customer_id = params.string("customer")
        if customer_id and customer_id != subscription["customer"]:
            raise invalid("The subscription belongs to another customer.", param="customer")
        if subscription["status"] == "canceled" or subscription["cancel_at_period_end"]:
            raise invalid("No upcoming invoices for this subscription.",
                          code="invoice_upcoming_none")
        price = self.subscription_price(subscription)
        start = subscription["current_period_end"]
        end = add_interval(start, price["recurring"]["interval"])
        lines = [self._line(price["unit_amount"], self._describe(price), price, start, end),
                 *copy.deepcopy(subscription["_pending_lines"])]
        total = sum(line["amount"] for line in lines)
        balance = self.state.objects[subscription["customer"]]["balance"]
        credit = min(-balance, total) if balance < 0 and total > 0 else 0
        amount_due = max(total - credit, 0)
        return {
            "id": None, "object": "invoice", "customer": subscription["customer"],
            "subscription": subscription["id"], "livemode": False, "created": now(),
            "parent": {"type": "subscription_details", "quote_details": None,
                       "subscription_details": {"subscription": subscription["id"],
                                                "metadata": dict(subscription["metadata"])}},
            "status": "draft", "amount_due": amount_due, "amount_paid": 0,
            "amount_remaining": amount_due, "subtotal": total, "total": total,
            "starting_balance": balance, "currency": subscription["currency"],
            "billing_reason": "upcoming", "attempt_count": 0,
            "next_payment_attempt": start, "period_start": subscription["current_period_start"],
            "period_end": start, "number": None, "hosted_invoice_url": None,
            "lines": {"object": "list", "has_more": False, "total_count": len(lines),
                      "data": lines},
        }

    def list_invoices(self, params: Params) -> list[dict]:
        customer = params.string("customer")
        subscription = params.string("subscription")
        status = params.choice("status", ("draft", "open", "paid", "void", "uncollectible"))
        return [
            invoice for invoice in self.state.of_kind("invoice")
            if (customer is None or invoice["customer"] == customer)
            and (subscription is None or invoice["subscription"] == subscription)
            and (status is None or invoice["status"] == status)
        ]

    def pay_invoice(self, invoice_id: str, pm_id: str | None = None, *, api: bool = True) -> dict:
        """Attempt an open invoice again (API `pay`, `/_sim/…/retry`, a new card). A paid
        invoice brings a past-due subscription back to active once nothing is left open."""
        invoice = self.find("invoice", invoice_id)
        if invoice["status"] != "open":
            raise invalid(f"Invoice is already {invoice['status']}.", code="invoice_not_open")
        subscription = self.state.objects[invoice["subscription"]]
        before = self.render(subscription)
        if pm_id:
            self._customer_card(self.state.objects[invoice["customer"]], pm_id, "payment_method")
        paid = self._collect(invoice, pm_id or self.default_card(subscription))
        if paid:
            self.emit("invoice.paid", invoice)
            still_open = any(
                other["status"] == "open" and other["subscription"] == subscription["id"]
                for other in self.state.of_kind("invoice")
            )
            if subscription["status"] in ("past_due", "unpaid") and not still_open:
                subscription["status"] = "active"
        else:
            self.emit("invoice.payment_failed", invoice)
            if invoice["next_payment_attempt"] is None and subscription["status"] == "past_due":
                subscription["status"] = "unpaid"
        previous = self.changes(before, subscription)
        if previous:
            self.emit("customer.subscription.updated", subscription, previous)
        if not paid and api:
            raise card_declined()
        return invoice

    # Billing portal ------------------------------------------------------------------------------

    def create_portal_session(self, params: Params) -> dict:
        customer = self.find("customer", params.string("customer", required=True), "customer")
        session = self._base(
            "bps_", "billing_portal.session", customer=customer["id"],
            return_url=params.string("return_url"), url=None, locale=None,
            configuration="bpc_standin", flow=None, on_behalf_of=None,
        )
        session["url"] = f"{self.config.public_url}/portal/{session['id']}"
        return self.state.add(session)

    def portal_subscription(self, customer_id: str) -> dict | None:
        """The customer's current subscription (the newest not canceled), else the newest."""
        subscriptions = [s for s in self.state.of_kind("subscription")
                         if s["customer"] == customer_id]
        live = [s for s in subscriptions if s["status"] != "canceled"]
        return (live or subscriptions or [None])[-1]

    def portal_prices(self) -> list[dict]:
        return [p for p in self.state.of_kind("price") if p["active"] and p["type"] == "recurring"]

    def update_card(self, customer: dict, form: dict) -> dict:
        """The portal's Update card: the new card becomes the default; a past-due
        subscription's open invoices are paid with it at once."""
        payment_method = self.add_card(
            customer, form.get("card_number", ""), form.get("expiry", ""), form.get("cvc", "")
        )
        customer["invoice_settings"]["default_payment_method"] = payment_method["id"]
        subscription = self.portal_subscription(customer["id"])
        if subscription is None or subscription["status"] == "canceled":
            return payment_method
        subscription["default_payment_method"] = payment_method["id"]
        if subscription["status"] in ("past_due", "unpaid"):
            open_invoices = [i for i in self.state.of_kind("invoice")
                             if i["subscription"] == subscription["id"] and i["status"] == "open"]
            for invoice in open_invoices:
                self.pay_invoice(invoice["id"], payment_method["id"], api=False)
        return payment_method

    # Webhook endpoints -------------------------------------------------------------------------

    def create_webhook_endpoint(self, params: Params, secret: str | None = None) -> dict:
        url = params.string("url", required=True)
        if not url.startswith(("http://", "https://")):
            raise invalid("Invalid URL: must be http or https.", param="url")
        enabled = params.strings("enabled_events")
        if not enabled:
            raise missing_param("enabled_events")
        secret = secret or new_id("whsec_", 32)
        endpoint = self._base(
            "we_", "webhook_endpoint", url=url, enabled_events=enabled, status="enabled",
            api_version=API_VERSION, description=params.string("description"),
            metadata=params.metadata(), _secret=secret,
        )
        return self.state.add(endpoint)

    def delete_webhook_endpoint(self, endpoint_id: str) -> dict:
        endpoint = self.find("webhook_endpoint", endpoint_id)
        del self.state.objects[endpoint["id"]]
        self.webhooks.forget(endpoint["id"])
        return {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True}
