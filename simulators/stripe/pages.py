"""The hosted pages: Checkout, the billing portal, an invoice, and the stand-in's index.
Plain HTML with inline styles; every value is escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING

from .billing import money

if TYPE_CHECKING:
    from .app import StripeSimulator
    from .billing import Billing

STYLE = """
body{font-family:-apple-system,system-ui,sans-serif;background:#f6f9fc;color:#30313d;margin:0}
main{max-width:760px;margin:40px auto;background:#fff;padding:28px 32px;border-radius:8px;
box-shadow:0 2px 8px rgba(0,0,0,.08)}
main.wide{max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
label{display:block;margin:10px 0 4px;font-size:14px}
input,select{padding:8px;font-size:15px;border:1px solid #ccc;border-radius:4px;width:100%;
box-sizing:border-box}
.row{display:flex;gap:12px}.row>div{flex:1}
button{margin-top:16px;background:#635bff;color:#fff;border:0;border-radius:4px;
padding:10px 18px;font-size:15px;cursor:pointer}
button.secondary{background:#fff;color:#635bff;border:1px solid #635bff}
.error{background:#fde8e8;color:#b42318;padding:10px;border-radius:4px}
.notice{background:#e6f4ea;color:#1e6b34;padding:10px;border-radius:4px}
table{border-collapse:collapse;width:100%;font-size:14px}
td,th{border-bottom:1px solid #eee;padding:6px;text-align:left}
.muted{color:#6a7383;font-size:13px}.price{font-size:28px;font-weight:600}
form.inline{display:inline}form.inline button{margin:0;padding:4px 10px;font-size:13px}
"""


def _page(title: str, body: str, *, wide: bool = False) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main{' class=wide' if wide else ''}>{body}</main></body></html>"
    )


def _date(moment: int | None) -> str:
    if not moment:
        return "—"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _price_label(billing: Billing, price: dict) -> str:
    interval = price["recurring"]["interval"] if price.get("recurring") else "once"
    name = billing._product_name(price)
    nickname = f" ({price['nickname']})" if price.get("nickname") else ""
    return f"{name}{nickname} — {money(price['unit_amount'], price['currency'])} / {interval}"


def _card_fields(form, number_default: str = "4242 4242 4242 4242") -> str:
    def value(name: str, default: str) -> str:
        return escape(form.get(name, default) if form else default)

    return (
        "<label for='card_number'>Card number</label>"
        f"<input id='card_number' name='card_number' value='{value('card_number', number_default)}'"
        " autocomplete='cc-number'>"
        "<div class='row'><div><label for='expiry'>Expiry (MM / YY)</label>"
        f"<input id='expiry' name='expiry' value='{value('expiry', '12 / 34')}'></div>"
        "<div><label for='cvc'>CVC</label>"
        f"<input id='cvc' name='cvc' value='{value('cvc', '123')}'></div></div>"
        "<p class='muted'>Test cards: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is "
        "declined; 4000 0000 0000 0341 succeeds now and fails every later charge.</p>"
    )


def message_page(title: str, message: str, link: tuple[str, str] | None = None) -> str:
    body = f"<h1>{escape(title)}</h1><p>{escape(message)}</p>"
    if link:
        body += f"<p><a href='{escape(link[0])}'>{escape(link[1])}</a></p>"
    return _page(title, body)


def checkout_page(billing: Billing, session: dict, form, error: str | None) -> str:
    merchant = billing.config.business_name
    if session["status"] != "open":
        state = ("This Checkout session is complete: you are subscribed."
                 if session["status"] == "complete" else "This Checkout session has expired.")
        link = (session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]),
                f"Return to {merchant}") if session["status"] == "complete" else (
            (session["cancel_url"], f"Return to {merchant}") if session["cancel_url"] else None)
        return message_page("Checkout", state, link)
    price = billing.state.objects[session["_line_items"][0]["price"]]
    customer = billing.state.objects.get(session["customer"] or "")
    trial_end = session["_subscription_data"]["trial_end"]
    trial = (f"<p class='notice'>Free trial until {_date(trial_end)}; "
             f"then {money(price['unit_amount'], price['currency'])} / "
             f"{price['recurring']['interval']}.</p>") if trial_end else ""
    email = (f"<p>Paying as <strong>{escape(customer['email'] or customer['id'])}</strong></p>"
             if customer else
             "<label for='email'>Email</label><input id='email' name='email' value='"
             + escape(form.get("email", session["customer_email"] or "") if form else
                      session["customer_email"] or "") + "'>")
    cancel = (f"<p><a href='{escape(session['cancel_url'])}'>← Cancel and return to "
              f"{escape(merchant)}</a></p>") if session["cancel_url"] else ""
    body = (
        f"{cancel}<p class='muted'>Subscribe to {escape(merchant)}</p>"
        f"<h1>{escape(billing._product_name(price))}</h1>"
        f"<p class='price'>{money(price['unit_amount'], price['currency'])}"
        f" <span class='muted'>per {price['recurring']['interval']}</span></p>{trial}"
        + (f"<p class='error' role='alert'>{escape(error)}</p>" if error else "")
        + f"<form method='post'>{email}{_card_fields(form)}"
        "<button type='submit'>Subscribe</button></form>"
    )
    return _page(f"Subscribe — {merchant}", body)


def portal_expired(session: dict) -> str:
    link = (session["return_url"], "Return") if session["return_url"] else None
    return message_page("Session expired",
                        "This billing portal session has expired. Open it again from the site.",
                        link)


NOTICES = {
    "card_updated": "Your card was updated.",
    "plan_changed": "Your plan was changed.",
    "canceled": "Your subscription will be canceled at the end of the period.",
    "renewed": "Your subscription will continue.",
}


def portal_page(billing: Billing, session: dict, error: str | None, notice: str | None) -> str:
    merchant = billing.config.business_name
    customer = billing.state.objects[session["customer"]]
    subscription = billing.portal_subscription(customer["id"])
    parts = []
    if session["return_url"]:
        parts.append(f"<p><a href='{escape(session['return_url'])}'>← Return to "
                     f"{escape(merchant)}</a></p>")
    parts.append(f"<h1>{escape(merchant)} billing</h1>"
                 f"<p class='muted'>{escape(customer['email'] or customer['id'])}</p>")
    if error:
        parts.append(f"<p class='error' role='alert'>{escape(error)}</p>")
    if notice in NOTICES:
        parts.append(f"<p class='notice'>{NOTICES[notice]}</p>")
    parts.append("<h2>Current plan</h2>")
    if subscription is None:
        parts.append("<p>No subscription.</p>")
    else:
        price = billing.subscription_price(subscription)
        ending = subscription["cancel_at_period_end"]
        parts.append(
            f"<p><strong>{escape(_price_label(billing, price))}</strong></p>"
            f"<p>Status: <strong>{escape(subscription['status'])}</strong>. "
            + (f"Cancels on {_date(subscription['current_period_end'])}."
               if ending else f"Renews on {_date(subscription['current_period_end'])}.")
            + "</p>"
        )
    card_id = customer["invoice_settings"]["default_payment_method"]
    card = billing.state.objects.get(card_id or "")
    parts.append("<h2>Payment method</h2>")
    parts.append(f"<p>{escape(card['card']['brand'].title())} •••• {card['card']['last4']}, "
                 f"expires {card['card']['exp_month']:02d}/{card['card']['exp_year']}</p>"
                 if card else "<p>No card on file.</p>")
    parts.append("<form method='post'><input type='hidden' name='action' value='update_card'>"
                 + _card_fields(None) + "<button type='submit'>Update card</button></form>")
    if subscription is not None and subscription["status"] != "canceled":
        current = subscription["items"]["data"][0]["price"]["id"]
        options = "".join(
            f"<option value='{p['id']}'>{escape(_price_label(billing, p))}</option>"
            for p in billing.portal_prices() if p["id"] != current
        )
        if options:
            parts.append(
                "<h2>Change plan</h2><form method='post'>"
                "<input type='hidden' name='action' value='change_plan'>"
                f"<label for='price'>New plan</label><select id='price' name='price'>{options}"
                "</select><p class='muted'>You are charged (or credited) the difference for the "
                "rest of this period at once.</p><button type='submit'>Change plan</button></form>"
            )
        action, label = (("renew", "Don't cancel") if subscription["cancel_at_period_end"]
                         else ("cancel", "Cancel at period end"))
        parts.append(
            f"<h2>Cancel</h2><form method='post'><input type='hidden' name='action' "
            f"value='{action}'><button type='submit' class='secondary'>{label}</button></form>"
        )
    invoices = [i for i in billing.state.of_kind("invoice") if i["customer"] == customer["id"]]
    parts.append("<h2>Invoices</h2>")
    if invoices:
        rows = "".join(
            f"<tr><td>{_date(i['created'])}</td><td>{escape(i['number'])}</td>"
            f"<td>{money(i['amount_due'], i['currency'])}</td><td>{escape(i['status'])}</td>"
            f"<td><a href='/invoice/{i['id']}'>View</a></td></tr>"
            for i in reversed(invoices)
        )
        parts.append("<table><tr><th>Date</th><th>Number</th><th>Amount</th><th>Status</th>"
                     f"<th></th></tr>{rows}</table>")
    else:
        parts.append("<p>No invoices yet.</p>")
    return _page(f"Billing — {merchant}", "".join(parts))


def invoice_page(billing: Billing, invoice: dict, form, error: str | None) -> str:
    lines = "".join(
        f"<tr><td>{escape(line['description'])}</td><td>{_date(line['period']['start'])} – "
        f"{_date(line['period']['end'])}</td>"
        f"<td>{money(line['amount'], line['currency'])}</td></tr>"
        for line in invoice["lines"]["data"]
    )
    body = (
        f"<p class='muted'>{escape(billing.config.business_name)}</p>"
        f"<h1>Invoice {escape(invoice['number'])}</h1>"
        f"<p>Status: <strong>{escape(invoice['status'])}</strong> · "
        f"Amount due {money(invoice['amount_due'], invoice['currency'])} · "
        f"Paid {money(invoice['amount_paid'], invoice['currency'])}</p>"
        f"<table><tr><th>Description</th><th>Period</th><th>Amount</th></tr>{lines}</table>"
    )
    if error:
        body += f"<p class='error' role='alert'>{escape(error)}</p>"
    if invoice["status"] == "open":
        body += ("<h2>Pay this invoice</h2><form method='post'>" + _card_fields(form)
                 + "<button type='submit'>Pay</button></form>")
    return _page(f"Invoice {invoice['number']}", body)


def index_page(simulator: StripeSimulator) -> str:
    state, billing = simulator.state, simulator.billing

    def button(path: str, label: str) -> str:
        return (f"<form class='inline' method='post' action='{path}'>"
                f"<button type='submit'>{label}</button></form>")

    customers = "".join(
        f"<tr><td>{c['id']}</td><td>{escape(c['email'] or '')}</td>"
        f"<td>{escape(c['name'] or '')}</td><td>{money(c['balance'], 'cny')}</td></tr>"
        for c in state.of_kind("customer")
    )
    subscriptions = "".join(
        f"<tr><td>{s['id']}</td><td>{s['customer']}</td>"
        f"<td>{escape(_price_label(billing, billing.subscription_price(s)))}</td>"
        f"<td>{s['status']}{' (cancels)' if s['cancel_at_period_end'] else ''}</td>"
        f"<td>{_date(s['current_period_end'])}</td><td>"
        + ("" if s["status"] == "canceled" else
           button(f"/_sim/subscriptions/{s['id']}/renew", "Renew now"))
        + (button(f"/_sim/subscriptions/{s['id']}/trial_will_end", "Trial will end")
           if s["status"] == "trialing" else "")
        + "</td></tr>"
        for s in state.of_kind("subscription")
    )
    invoices = "".join(
        f"<tr><td><a href='/invoice/{i['id']}'>{escape(i['number'])}</a></td>"
        f"<td>{i['subscription']}</td><td>{i['billing_reason']}</td>"
        f"<td>{money(i['amount_due'], i['currency'])}</td><td>{i['status']}</td>"
        f"<td>{i['attempt_count']}</td><td>"
        + (button(f"/_sim/invoices/{i['id']}/retry", "Retry payment")
           if i["status"] == "open" else "")
        + "</td></tr>"
        for i in state.of_kind("invoice")
    )
    endpoints = "".join(
        f"<tr><td>{e['id']}</td><td>{escape(e['url'])}</td>"
        f"<td>{escape(', '.join(e['enabled_events']))}</td></tr>"
        for e in state.of_kind("webhook_endpoint")
    )
    events = list(state.of_kind("event"))[-30:]
    event_rows = "".join(
        f"<tr><td>{_date(e['created'])}</td><td>{e['type']}</td><td>{e['id']}</td><td>"
        + escape(", ".join(
            f"#{d['attempt']} {d['status_code'] or d['error'] or ''}"
            for d in state.deliveries.get(e["id"], [])
        ))
        + "</td></tr>"
        for e in reversed(events)
    )
    config = simulator.config
    body = (
        "<h1>Stripe stand-in</h1>"
        f"<p class='muted'>API key {escape(config.api_key)} · "
        f"decline_all={config.decline_all} · api_down={config.api_down} · "
        f"time_scale={config.time_scale} · JSON: <a href='/_sim/events'>/_sim/events</a></p>"
        "<h2>Subscriptions</h2><table><tr><th>Id</th><th>Customer</th><th>Plan</th>"
        f"<th>Status</th><th>Period end</th><th></th></tr>{subscriptions}</table>"
        "<h2>Invoices</h2><table><tr><th>Number</th><th>Subscription</th><th>Reason</th>"
        f"<th>Due</th><th>Status</th><th>Attempts</th><th></th></tr>{invoices}</table>"
        "<h2>Customers</h2><table><tr><th>Id</th><th>Email</th><th>Name</th><th>Balance</th>"
        f"</tr>{customers}</table>"
        "<h2>Webhook endpoints</h2><table><tr><th>Id</th><th>URL</th><th>Events</th></tr>"
        f"{endpoints}</table>"
        "<h2>Latest events</h2><table><tr><th>Created</th><th>Type</th><th>Id</th>"
        f"<th>Deliveries</th></tr>{event_rows}</table>"
    )
    return _page("Stripe stand-in", body, wide=True)
