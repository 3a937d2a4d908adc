"""Webhook delivery: every event POSTed as JSON to every endpoint that enabled its type
(or `*`), signed `Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")` as
`stripe.Webhook.construct_event` verifies.

One worker thread per endpoint sends first attempts in creation order. A non-2xx answer or
a timeout is retried on a backoff (1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 12 h) × `time_scale`,
up to `max_attempts`, without holding back later events. An acknowledged event is sometimes
delivered again (`duplicate_probability`), as Stripe does. Every attempt is logged."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import random
import threading
import time
from datetime import UTC, datetime

import requests

from simulators.wechat.callbacks import loopback_target

from .config import StripeSimConfig
from .state import StripeState

log = logging.getLogger(__name__)

MINUTE, HOUR = 60, 3600
RETRY_SCHEDULE = (MINUTE, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 12 * HOUR)
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks) (stand-in)"


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_body(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False, indent=2).encode()


class _EndpointWorker:
    """Delivers to one endpoint: a heap of (due, order, event id, attempt, kind)."""

    def __init__(self, dispatcher: WebhookDispatcher, endpoint_id: str):
        self.dispatcher = dispatcher
        self.endpoint_id = endpoint_id
        self._queue: list[tuple[float, int, str, int, str]] = []
        self._order = itertools.count()
        self._wakeup = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(
            target=self._run, name=f"stripe-sim-webhook-{endpoint_id}", daemon=True
        )
        self._thread.start()

    def push(self, event_id: str, attempt: int, kind: str, delay: float = 0.0) -> None:
        with self._wakeup:
            heapq.heappush(
                self._queue,
                (time.monotonic() + delay, next(self._order), event_id, attempt, kind),
            )
            self._wakeup.notify()

    def stop(self) -> None:
        with self._wakeup:
            self._stopped = True
            self._queue.clear()
            self._wakeup.notify()

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._stopped and (
                    not self._queue or self._queue[0][0] > time.monotonic()
                ):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._wakeup.wait(timeout)
                if self._stopped:
                    return
                _, _, event_id, attempt, kind = heapq.heappop(self._queue)
            try:
                self.dispatcher.attempt(self, event_id, attempt, kind)
            except Exception:
                log.exception("webhook delivery failed unexpectedly")


class WebhookDispatcher:
    def __init__(self, config: StripeSimConfig, state: StripeState):
        self.config = config
        self.state = state
        self._workers: dict[str, _EndpointWorker] = {}

    def publish(self, event: dict) -> int:
        """Queue an event for every endpoint that wants it; returns how many."""
        endpoints = [
            endpoint
            for endpoint in self.state.of_kind("webhook_endpoint")
            if endpoint["status"] == "enabled"
            and ("*" in endpoint["enabled_events"] or event["type"] in endpoint["enabled_events"])
        ]
        for endpoint in endpoints:
            self._worker(endpoint["id"]).push(event["id"], 1, "delivery")
        return len(endpoints)

    def resend(self, event_id: str) -> int:
        """Deliver an event again to every endpoint that wants it (a manual resend)."""
        event = self.state.get(event_id, "event")
        count = 0
        for endpoint in list(self.state.of_kind("webhook_endpoint")):
            if "*" in endpoint["enabled_events"] or event["type"] in endpoint["enabled_events"]:
                self._worker(endpoint["id"]).push(event_id, 1, "resend")
                count += 1
        return count

    def forget(self, endpoint_id: str) -> None:
        worker = self._workers.pop(endpoint_id, None)
        if worker:
            worker.stop()

    def close(self) -> None:
        for endpoint_id in list(self._workers):
            self.forget(endpoint_id)

    def _worker(self, endpoint_id: str) -> _EndpointWorker:
        worker = self._workers.get(endpoint_id)
        if worker is None:
            worker = self._workers[endpoint_id] = _EndpointWorker(self, endpoint_id)
        return worker

    def attempt(self, worker: _EndpointWorker, event_id: str, attempt: int, kind: str) -> None:
        with self.state.lock:
            endpoint = self.state.get(worker.endpoint_id, "webhook_endpoint")
            event = self.state.get(event_id, "event")
            if endpoint is None or event is None:
                return
            url, secret = endpoint["url"], endpoint["_secret"]
            body = event_body(event)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Stripe-Signature": signature_header(secret, body),
        }
        target, host = loopback_target(url)
        if host:
            headers["Host"] = host
        status_code = error = None
        try:
            response = requests.post(
                target, data=body, headers=headers, timeout=self.config.webhook_timeout
            )
            status_code = response.status_code
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        acknowledged = status_code is not None and 200 <= status_code < 300
        with self.state.lock:
            if self.state.get(event_id, "event") is not event:
                return  # the stand-in was reset while this was on the wire
            self.state.deliveries.setdefault(event_id, []).append({
                "endpoint": worker.endpoint_id,
                "url": url,
                "attempt": attempt,
                "kind": kind,
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "status_code": status_code,
                "error": error,
                "outcome": "acknowledged" if acknowledged else "failed",
            })
            if acknowledged and event["pending_webhooks"] > 0 and kind == "delivery":
                event["pending_webhooks"] -= 1
        if acknowledged:
            if kind == "delivery" and random.random() < self.config.duplicate_probability:
                worker.push(event_id, attempt, "duplicate")
        elif kind in ("delivery", "resend") and attempt < self.config.max_attempts:
            step = RETRY_SCHEDULE[min(attempt, len(RETRY_SCHEDULE)) - 1]
            worker.push(event_id, attempt + 1, kind, delay=step * self.config.time_scale)
