"""The WSGI application: routing, and the HTTP shape of each family of endpoints.

- `/v1/…` (the Stripe API): `api_down` answers 503 first, then `Authorization: Bearer
  <secret key>` is checked; form-encoded parameters (nested `a[b][0]` keys, `expand[]`);
  `Idempotency-Key` replays; JSON answers, errors as `{"error": {...}}`.
- `/checkout/…`, `/portal/…`, `/invoice/…`: the hosted pages a merchant sees.
- `/_sim/…`: the stand-in's own controls for tests and `make run` (see README.md)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from . import pages
from .billing import PORTAL_LIFETIME, Billing, CardError, clear_request, public, set_request
from .config import RUNTIME_SETTINGS, StripeSimConfig
from .errors import StripeError, invalid, no_such
from .forms import Params, decode
from .state import StripeState, new_id, now
from .webhooks import WebhookDispatcher, event_body, signature_header

log = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=utf-8"
ALL_EVENTS = ["*"]
CONFIGURED = "configured at start"


def json_response(payload: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False, indent=2), status,
                    headers=headers, content_type=JSON_TYPE)


def html_response(html: str, status: int = 200) -> Response:
    return Response(html, status, content_type="text/html; charset=utf-8")


def expand(node, path: list[str], lookup: Callable[[str], dict | None]) -> None:
    """Replace the id at `path` (dotted, through lists' `data`) by its object."""
    if not path or not isinstance(node, dict):
        return
    key, rest = path[0], path[1:]
    if node.get("object") == "list" and key == "data":
        for item in node.get("data", []):
            expand(item, rest, lookup)
        return
    value = node.get(key)
    if isinstance(value, str):
        target = lookup(value)
        if target is not None:
            node[key] = value = target
    if isinstance(value, list):
        for item in value:
            expand(item, rest, lookup)
    else:
        expand(value, rest, lookup)


class StripeSimulator:
    """One simulated Stripe account: the state, the webhook workers and the routes."""

    def __init__(self, config: StripeSimConfig):
        self.config = config
        self.initial = dataclasses.replace(config)
        self.state = StripeState()
        if config.state_file:
            self.state.load(config.state_file)
        self.webhooks = WebhookDispatcher(config, self.state)
        self.billing = Billing(config, self.state, self.webhooks)
        self._handlers: dict[str, tuple[Callable[..., object], str]] = {}
        self.url_map = Map(self._rules())
        self.configured_endpoint: str | None = None
        with self.state.lock:
            self._forget_configured_endpoints()
            self.set_webhook_url(config.webhook_url)

    def _forget_configured_endpoints(self) -> None:
        """A restart registers the configured endpoint anew: drop the saved one."""
        for endpoint in list(self.state.of_kind("webhook_endpoint")):
            if endpoint.get("description") == CONFIGURED:
                del self.state.objects[endpoint["id"]]

    def persist(self) -> None:
        """Save the state after a change, when a state file is configured."""
        if self.config.state_file:
            with self.state.lock:
                self.state.save(self.config.state_file)

    def __call__(self, environ: dict, start_response: Callable) -> object:
        return self.dispatch(Request(environ))(environ, start_response)

    def close(self) -> None:
        self.webhooks.close()

    def set_webhook_url(self, url: str | None, secret: str | None = None) -> None:
        """Point the endpoint registered from the configuration (every event, the
        configured secret) at `url`; None removes it."""
        with self.state.lock:
            self.config.webhook_url = url
            if secret:
                self.config.webhook_secret = secret
            if self.configured_endpoint:
                endpoint = self.state.get(self.configured_endpoint, "webhook_endpoint")
                if endpoint is not None:
                    self.billing.delete_webhook_endpoint(endpoint["id"])
                self.configured_endpoint = None
            if url:
                endpoint = self.billing.create_webhook_endpoint(
                    Params({"url": url, "enabled_events": ALL_EVENTS,
                            "description": CONFIGURED}),
                    secret=self.config.webhook_secret,
                )
                self.configured_endpoint = endpoint["id"]

    def reset(self) -> None:
        """Forget everything and put the settings back as they were configured."""
        self.webhooks.close()
        with self.state.lock:
            self.state.clear()
            for name in (*RUNTIME_SETTINGS, "webhook_url", "webhook_secret"):
                setattr(self.config, name, getattr(self.initial, name))
            self.configured_endpoint = None
            self.set_webhook_url(self.config.webhook_url)
            self.persist()

    def signed_event(self, event_id: str, secret: str | None = None) -> tuple[bytes, str]:
        """An event's body and `Stripe-Signature` header, signed now with the configured
        secret: for a test that posts it to the platform itself (no live server)."""
        with self.state.lock:
            event = self.billing.find("event", event_id)
            body = event_body(event)
        return body, signature_header(secret or self.config.webhook_secret, body)

    def events(self, type_: str | None = None) -> list[dict]:
        """Every event so far (oldest first), as sent."""
        with self.state.lock:
            return [public(e) for e in self.state.of_kind("event")
                    if type_ is None or e["type"] == type_]

    # Routing -------------------------------------------------------------------------------

    def _rules(self) -> list[Rule]:
        b = self.billing
        routes = [
            ("/v1/customers", ["POST"], lambda p: b.create_customer(p), "api"),
            ("/v1/customers", ["GET"], self._list_customers, "api"),
            ("/v1/customers/<id>", ["GET"], lambda p, id: b.find("customer", id), "api"),
            ("/v1/customers/<id>", ["POST"], lambda p, id: b.update_customer(id, p), "api"),
            ("/v1/products", ["POST"], lambda p: b.create_product(p), "api"),
            ("/v1/products", ["GET"], lambda p: self._list(p, "product"), "api"),
            ("/v1/products/<id>", ["GET"], lambda p, id: b.find("product", id), "api"),
            ("/v1/products/<id>", ["POST"], lambda p, id: b.update_product(id, p), "api"),
            ("/v1/prices", ["POST"], lambda p: b.create_price(p), "api"),
            ("/v1/prices", ["GET"], lambda p: self._list(p, "price", b.list_prices(p)), "api"),
            ("/v1/prices/<id>", ["GET"], lambda p, id: b.find("price", id), "api"),
            ("/v1/prices/<id>", ["POST"], lambda p, id: b.update_price(id, p), "api"),
            ("/v1/checkout/sessions", ["POST"], lambda p: b.create_checkout_session(p), "api"),
            ("/v1/checkout/sessions", ["GET"],
             lambda p: self._list(p, "checkout.session"), "api"),
            ("/v1/checkout/sessions/<id>", ["GET"],
             lambda p, id: b.checkout_state(b.find("checkout.session", id)), "api"),
            ("/v1/checkout/sessions/<id>/expire", ["POST"],
             lambda p, id: b.expire_checkout_session(id), "api"),
            ("/v1/subscriptions", ["GET"],
             lambda p: self._list(p, "subscription", b.list_subscriptions(p)), "api"),
            ("/v1/subscriptions/<id>", ["GET"], lambda p, id: b.find("subscription", id), "api"),
            ("/v1/subscriptions/<id>", ["POST"],
             lambda p, id: b.update_subscription(id, p), "api"),
            ("/v1/subscriptions/<id>", ["DELETE"],
             lambda p, id: b.cancel_subscription(id), "api"),
            ("/v1/invoices", ["GET"],
             lambda p: self._list(p, "invoice", b.list_invoices(p)), "api"),
            ("/v1/invoices/create_preview", ["POST"], lambda p: b.preview_invoice(p), "api"),
            ("/v1/invoices/<id>", ["GET"], lambda p, id: b.find("invoice", id), "api"),
            ("/v1/invoices/<id>/pay", ["POST"],
             lambda p, id: b.pay_invoice(id, p.string("payment_method")), "api"),
            ("/v1/payment_methods/<id>", ["GET"],
             lambda p, id: b.find("payment_method", id), "api"),
            ("/v1/billing_portal/sessions", ["POST"],
             lambda p: b.create_portal_session(p), "api"),
            ("/v1/webhook_endpoints", ["POST"], self._create_endpoint, "api"),
            ("/v1/webhook_endpoints", ["GET"],
             lambda p: self._list(p, "webhook_endpoint"), "api"),
            ("/v1/webhook_endpoints/<id>", ["GET"],
             lambda p, id: b.find("webhook_endpoint", id), "api"),
            ("/v1/webhook_endpoints/<id>", ["DELETE"],
             lambda p, id: b.delete_webhook_endpoint(id), "api"),
            ("/v1/events", ["GET"], self._list_events, "api"),
            ("/v1/events/<id>", ["GET"], lambda p, id: b.find("event", id), "api"),
            # Hosted pages
            ("/checkout/<id>", ["GET", "POST"], self._checkout_page, "page"),
            ("/portal/<id>", ["GET", "POST"], self._portal_page, "page"),
            ("/invoice/<id>", ["GET", "POST"], self._invoice_page, "page"),
            # The stand-in's controls
            ("/_sim/", ["GET"], self._index, "page"),
            ("/_sim/subscriptions/<id>/renew", ["POST"],
             lambda r, id: b.renew(id), "sim"),
            ("/_sim/subscriptions/<id>/trial_will_end", ["POST"],
             lambda r, id: b.trial_will_end(id), "sim"),
            ("/_sim/invoices/<id>/retry", ["POST"],
             lambda r, id: b.pay_invoice(id, api=False), "sim"),
            ("/_sim/settings", ["GET", "POST"], self._settings, "sim"),
            ("/_sim/events", ["GET"], self._sim_events, "sim"),
            ("/_sim/events/<id>/resend", ["POST"], self._resend, "sim"),
            ("/_sim/reset", ["POST"], lambda r: self.reset() or {"reset": True}, "sim"),
        ]
        rules = []
        for number, (path, methods, handler, family) in enumerate(routes):
            endpoint = f"r{number}"
            self._handlers[endpoint] = (handler, family)
            rules.append(Rule(path, methods=methods, endpoint=endpoint))
        return rules

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException as exc:
            if request.path.startswith("/v1/"):
                message = f"Unrecognized request URL ({request.method}: {request.path})."
                return json_response(
                    {"error": {"type": "invalid_request_error", "message": message}}, 404
                )
            return exc.get_response(request.environ)
        handler, family = self._handlers[endpoint]
        serve = {"api": self._serve_api, "page": self._serve_page, "sim": self._serve_sim}[family]
        response = serve(request, handler, values)
        if request.method != "GET" or family == "api":
            self.persist()  # a GET of an API object may expire a Checkout session
        return response

    # /v1 -------------------------------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                credential = base64.b64decode(credential).decode().partition(":")[0]
            except ValueError:
                return False
        elif scheme.lower() != "bearer":
            return False
        return credential.strip() == self.config.api_key

    def _serve_api(self, request: Request, handler: Callable, values: dict) -> Response:
        request_id = new_id("req_", 14)
        headers = {"Request-Id": request_id, "Stripe-Version": "2025-03-31.basil"}
        if self.config.api_down:
            return json_response({"error": {
                "type": "api_error",
                "message": "The stand-in is configured to be down (api_down).",
            }}, 503, headers)
        if not self._authorized(request):
            return json_response({"error": {
                "type": "invalid_request_error",
                "message": "Invalid API Key provided: "
                           + (request.headers.get("Authorization", "")[7:15] or "(none)") + "****",
            }}, 401, headers)
        key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
        body = request.get_data()
        fingerprint = hashlib.sha256(body).hexdigest()
        with self.state.lock:
            if key:
                saved = self.state.idempotency.get(key)
                if saved is not None:
                    if (saved["method"], saved["path"]) != (request.method, request.path) or (
                        saved["body"] != fingerprint
                    ):
                        return json_response({"error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the "
                                       "same parameters they were first used with.",
                        }}, 400, headers)
                    return json_response(saved["payload"], saved["status"],
                                         {**headers, "Idempotent-Replayed": "true",
                                          "Original-Request": saved["request_id"]})
            set_request(request_id, key)
            try:
                status, payload = 200, self._call_api(request, handler, values)
            except StripeError as error:
                status, payload = error.status, error.body()
                payload["error"]["request_log_url"] = f"{self.config.public_url}/_sim/events"
            except Exception:
                log.exception("unexpected error in %s %s", request.method, request.path)
                status, payload = 500, {"error": {"type": "api_error",
                                                  "message": "An unexpected error occurred."}}
            finally:
                clear_request()
            if key and (status < 400 or status == 402):
                self.state.idempotency[key] = {
                    "method": request.method, "path": request.path, "body": fingerprint,
                    "status": status, "payload": payload, "request_id": request_id,
                }
        return json_response(payload, status, headers)

    def _call_api(self, request: Request, handler: Callable, values: dict) -> dict:
        pairs = list(request.args.items(multi=True))
        if request.method == "POST":
            pairs += list(request.form.items(multi=True))
        params = Params(decode(pairs))
        result = handler(params, **values)
        rendered = public(result)
        for path in params.strings("expand"):
            expand(rendered, path.split("."), self.billing.lookup_any)
        return rendered

    def _list(self, params: Params, kind: str, found: list[dict] | None = None) -> dict:
        items = list(self.state.of_kind(kind)) if found is None else found
        items.reverse()  # newest first
        limit = params.integer("limit", minimum=1) or 10
        if limit > 100:
            raise invalid("limit must be at most 100", param="limit")
        after = params.string("starting_after")
        if after:
            ids = [item["id"] for item in items]
            if after not in ids:
                raise no_such(kind, after, "starting_after")
            items = items[ids.index(after) + 1:]
        return {"object": "list", "url": f"/v1/{kind.replace('.', '/')}s",
                "has_more": len(items) > limit, "data": [public(i) for i in items[:limit]]}

    def _list_customers(self, params: Params) -> dict:
        email = params.string("email")
        customers = [c for c in self.state.of_kind("customer")
                     if email is None or c["email"] == email]
        return self._list(params, "customer", customers)

    def _list_events(self, params: Params) -> dict:
        types = params.strings("types") or params.strings("type")
        events = [e for e in self.state.of_kind("event") if not types or e["type"] in types]
        return self._list(params, "event", events)

    def _create_endpoint(self, params: Params) -> dict:
        endpoint = self.billing.create_webhook_endpoint(params)
        return {**endpoint, "secret": endpoint["_secret"]}

    # Pages -----------------------------------------------------------------------------------

    def _serve_page(self, request: Request, handler: Callable, values: dict) -> Response:
        with self.state.lock:
            try:
                return handler(request, **values)
            except StripeError as error:
                status = error.status if error.status != 402 else 400
                return html_response(pages.message_page("Something went wrong", error.message),
                                     status)

    def _checkout_page(self, request: Request, id: str) -> Response:
        session = self.state.get(id, "checkout.session")
        if session is None:
            return html_response(pages.message_page(
                "Not found", "This Checkout page does not exist."), 404)
        self.billing.checkout_state(session)
        error = None
        if request.method == "POST" and session["status"] == "open":
            try:
                return redirect(self.billing.complete_checkout(session, request.form.to_dict()),
                                303)
            except CardError as exc:
                error = str(exc)
            except StripeError as exc:
                error = exc.message
        return html_response(pages.checkout_page(self.billing, session, request.form, error),
                             402 if error else 200)

    def _portal_page(self, request: Request, id: str) -> Response:
        session = self.state.get(id, "billing_portal.session")
        if session is None:
            return html_response(pages.message_page(
                "Not found", "This billing portal page does not exist."), 404)
        if session["created"] + PORTAL_LIFETIME <= now():
            return html_response(pages.portal_expired(session), 410)
        error = notice = None
        if request.method == "POST":
            try:
                notice = self._portal_action(session, request.form)
                return redirect(f"/portal/{id}?notice={notice}", 303)
            except CardError as exc:
                error = str(exc)
            except StripeError as exc:
                error = exc.message
        notice = request.args.get("notice")
        return html_response(pages.portal_page(self.billing, session, error, notice),
                             402 if error else 200)

    def _portal_action(self, session: dict, form) -> str:
        billing = self.billing
        customer = self.state.objects[session["customer"]]
        action = form.get("action")
        if action == "update_card":
            billing.update_card(customer, form.to_dict())
            return "card_updated"
        subscription = billing.portal_subscription(customer["id"])
        if subscription is None or subscription["status"] == "canceled":
            raise invalid("There is no subscription to change.")
        if action == "change_plan":
            price_id = form.get("price", "")
            if price_id not in {p["id"] for p in billing.portal_prices()}:
                raise invalid("Choose one of the plans offered.")
            item_id = subscription["items"]["data"][0]["id"]
            billing.update_subscription(subscription["id"], Params({
                "items": [{"id": item_id, "price": price_id}],
                "proration_behavior": "always_invoice",
            }))
            return "plan_changed"
        if action in ("cancel", "renew"):
            billing.update_subscription(subscription["id"], Params({
                "cancel_at_period_end": "true" if action == "cancel" else "false",
            }))
            return "canceled" if action == "cancel" else "renewed"
        raise invalid("Unknown action.")

    def _invoice_page(self, request: Request, id: str) -> Response:
        invoice = self.state.get(id, "invoice")
        if invoice is None:
            return html_response(pages.message_page("Not found", "No such invoice."), 404)
        error = None
        if request.method == "POST" and invoice["status"] == "open":
            customer = self.state.objects[invoice["customer"]]
            try:
                card = self.billing.add_card(customer, request.form.get("card_number", ""),
                                             request.form.get("expiry", ""),
                                             request.form.get("cvc", ""))
                self.billing.pay_invoice(invoice["id"], card["id"])
                return redirect(f"/invoice/{id}", 303)
            except CardError as exc:
                error = str(exc)
            except StripeError as exc:
                error = exc.message
        return html_response(pages.invoice_page(self.billing, invoice, request.form, error),
                             402 if error else 200)

    def _index(self, request: Request) -> Response:
        return html_response(pages.index_page(self))

    # /_sim -----------------------------------------------------------------------------------

    def _serve_sim(self, request: Request, handler: Callable, values: dict) -> Response:
        form = request.mimetype == "application/x-www-form-urlencoded"
        with self.state.lock:
            try:
                result = handler(request, **values)
            except StripeError as error:
                if form:
                    return html_response(pages.message_page("Refused", error.message),
                                         error.status)
                return json_response(error.body(), error.status)
        if form:
            return redirect("/_sim/", 303)
        return json_response(public(result) if isinstance(result, dict) else result)

    def _settings(self, request: Request) -> dict:
        if request.method == "POST":
            try:
                changes = json.loads(request.get_data() or b"{}")
            except ValueError:
                raise invalid("The body is not JSON.") from None
            if not isinstance(changes, dict):
                raise invalid("The body must be a JSON object.")
            for name, value in changes.items():
                if name not in RUNTIME_SETTINGS:
                    raise invalid(f"Unknown setting {name}; known: {', '.join(RUNTIME_SETTINGS)}",
                                  param=name)
                kind = type(getattr(self.initial, name))
                if kind is bool and not isinstance(value, bool):
                    raise invalid(f"{name} must be true or false", param=name)
                if kind in (int, float) and (isinstance(value, bool)
                                             or not isinstance(value, int | float) or value < 0):
                    raise invalid(f"{name} must be a non-negative number", param=name)
            for name, value in changes.items():
                setattr(self.config, name, type(getattr(self.initial, name))(value))
        return {name: getattr(self.config, name) for name in RUNTIME_SETTINGS}

    def _sim_events(self, request: Request) -> dict:
        wanted = request.args.get("type")
        events = [
            {**public(event), "deliveries": list(self.state.deliveries.get(event["id"], []))}
            for event in self.state.of_kind("event")
            if not wanted or event["type"] == wanted
        ]
        return {"object": "list", "data": events}

    def _resend(self, request: Request, id: str) -> dict:
        self.billing.find("event", id)
        return {"id": id, "queued": self.webhooks.resend(id)}
