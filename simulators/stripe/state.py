"""Everything the stand-in knows, in memory under one lock: Stripe objects by id (in
creation order), what only the stand-in sees (card numbers, line items), events with
their deliveries, and the idempotency cache."""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Iterator

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def now() -> int:
    return int(time.time())


class StripeState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        self.objects: dict[str, dict] = {}
        # pm id -> {"number": "4242…", "charges": n}: what Stripe never shows back
        self.cards: dict[str, dict] = {}
        # event id -> delivery attempts, for /_sim/events
        self.deliveries: dict[str, list[dict]] = {}
        # Idempotency-Key -> {"method", "path", "body", "status", "payload"}
        self.idempotency: dict[str, dict] = {}
        self.invoice_numbers: dict[str, int] = {}

    def add(self, obj: dict) -> dict:
        self.objects[obj["id"]] = obj
        return obj

    def get(self, object_id: str, kind: str) -> dict | None:
        obj = self.objects.get(object_id)
        return obj if obj is not None and obj["object"] == kind else None

    def of_kind(self, kind: str) -> Iterator[dict]:
        return (obj for obj in self.objects.values() if obj["object"] == kind)
