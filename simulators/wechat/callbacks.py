"""Callback delivery: signed, encrypted notifications POSTed to merchants' notify URLs.

A merchant acknowledges with any 2xx within `callback_timeout`; anything else is retried
on WeChat's schedule (15 s, 15 s, 30 s, 3 min, 10 min, 20 min, 30 min ×3, 60 min, 3 h ×3,
6 h ×2) multiplied by `time_scale`. An acknowledged callback is sometimes delivered again
(`duplicate_probability`), as WeChat does. Every attempt is logged for `/_sim/callbacks`.
`hold` keeps new deliveries from leaving, to stage a lost callback."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import requests

from .clock import now
from .config import SimulatorConfig
from .scheduler import Scheduler
from .signing import (
    Notification,
    build_notification,
    response_headers,
    signtest_headers,
)
from .state import SimulatorState

MINUTE, HOUR = 60, 3600
RETRY_SCHEDULE = (
    (15, 15, 30, 3 * MINUTE, 10 * MINUTE, 20 * MINUTE)
    + (30 * MINUTE,) * 3
    + (HOUR,)
    + (3 * HOUR,) * 3
    + (6 * HOUR,) * 2
)
USER_AGENT = "Mozilla/4.0 (WeChat Pay simulator)"


class CallbackDispatcher:
    def __init__(self, config: SimulatorConfig, state: SimulatorState, scheduler: Scheduler):
        self.config = config
        self.state = state
        self.scheduler = scheduler
        self.holding = False
        self._held: list[tuple[str, Notification, int]] = []
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="wechat-sim-callback")

    def send(
        self, url: str, event_type: str, summary: str, original_type: str, resource: dict
    ) -> Notification:
        """Queue a notification for delivery now; returns it (its id, its plaintext)."""
        notification = build_notification(
            self.config.credentials, event_type, summary, original_type, resource
        )
        self._schedule(url, notification, attempt=1, delay=0.0)
        return notification

    def hold(self, on: bool, release: bool = False) -> dict:
        """Start or stop holding deliveries. What was held is dropped when holding stops
        (the callback is lost, as when a merchant's endpoint was down for good), unless
        `release` sends it on."""
        released: list[tuple[str, Notification, int]] = []
        with self.state.lock:
            self.holding = on
            if not on:
                ended, self._held = self._held, []
                if release:
                    released = ended
            held = len(self._held)
        for url, notification, attempt in released:
            self._schedule(url, notification, attempt, delay=0.0)
        return {"holding": on, "held": held, "released": len(released)}

    def signtest(self, url: str) -> dict:
        """Send one signature probe now and return how the merchant answered: a merchant
        that verifies signatures rejects it."""
        resource = {
            "sp_mchid": self.config.credentials.sp_mchid,
            "out_trade_no": "SIGNTEST" + now().strftime("%Y%m%d%H%M%S"),
            "trade_state": "SUCCESS",
        }
        notification = build_notification(
            self.config.credentials, "TRANSACTION.SUCCESS", "支付成功", "transaction", resource
        )
        headers = signtest_headers(self.config.credentials)
        return self._post(url, notification, headers, attempt=1, kind="signtest")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _schedule(
        self,
        url: str,
        notification: Notification,
        attempt: int,
        delay: float,
        kind: str = "delivery",
    ) -> None:
        def due() -> None:
            with self.state.lock:
                if self.holding:
                    self._held.append((url, notification, attempt))
                    self._log(url, notification, attempt, kind, outcome="held")
                    return
            self._pool.submit(self._deliver, url, notification, attempt, kind)

        self.scheduler.call_later(delay, due)

    def _deliver(self, url: str, notification: Notification, attempt: int, kind: str) -> None:
        headers = response_headers(self.config.credentials, notification.body)
        entry = self._post(url, notification, headers, attempt, kind)
        if entry["outcome"] == "acknowledged":
            if kind == "delivery" and random.random() < self.config.duplicate_probability:
                self._schedule(url, notification, attempt, delay=0.0, kind="duplicate")
        elif kind == "delivery" and attempt <= len(RETRY_SCHEDULE):
            delay = RETRY_SCHEDULE[attempt - 1] * self.config.time_scale
            self._schedule(url, notification, attempt + 1, delay)

    def _post(
        self, url: str, notification: Notification, headers: dict, attempt: int, kind: str
    ) -> dict:
        headers = {**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT}
        target, host = loopback_target(url)
        if host:
            headers["Host"] = host
        status_code = error = None
        try:
            response = requests.post(
                target, data=notification.body, headers=headers,
                timeout=self.config.callback_timeout,
            )
            status_code = response.status_code
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        acknowledged = status_code is not None and 200 <= status_code < 300
        with self.state.lock:
            return self._log(
                url,
                notification,
                attempt,
                kind,
                outcome="acknowledged" if acknowledged else "failed",
                status_code=status_code,
                error=error,
            )

    def _log(self, url: str, notification: Notification, attempt: int, kind: str, **result) -> dict:
        entry = {
            "notification_id": notification.id,
            "event_type": notification.event_type,
            "url": url,
            "attempt": attempt,
            "kind": kind,
            "time": now().isoformat(timespec="milliseconds"),
            "status_code": None,
            "error": None,
            **result,
        }
        self.state.callback_log.append(entry)
        return entry


def loopback_target(url: str) -> tuple[str, str | None]:
    """Browsers and curl send `*.localhost` to 127.0.0.1, Python's resolver does not: a
    notify URL on a local mall (http://demo.localhost:8000/…) is posted to 127.0.0.1 with
    the original Host header, so the platform still routes it to the right tenant."""
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    if not hostname.endswith(".localhost"):
        return url, None
    netloc = f"127.0.0.1:{parts.port}" if parts.port else "127.0.0.1"
    host = f"{hostname}:{parts.port}" if parts.port else hostname
    return urlunsplit(parts._replace(netloc=netloc)), host
