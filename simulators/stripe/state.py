"""Everything the stand-in knows, in memory under one lock: Stripe objects by id (in
creation order), what only the stand-in sees (card numbers, line items), events with
their deliveries, and the idempotency cache."""

from __future__ import annotations

import json
import os
import secrets
import string
import threading
import time
from collections.abc import Iterator
from pathlib import Path

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

    PERSISTED = ("objects", "cards", "idempotency", "invoice_numbers")

    def save(self, path: str | Path) -> None:
        """Write what survives a restart (not the delivery log), atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({name: getattr(self, name) for name in self.PERSISTED}))
        os.replace(temporary, path)

    def load(self, path: str | Path) -> None:
        """Read a saved state; a missing or unreadable file starts empty."""
        try:
            saved = json.loads(Path(path).read_text())
        except (OSError, ValueError):
            return
        for name in self.PERSISTED:
            if isinstance(saved.get(name), dict):
                setattr(self, name, saved[name])

    def add(self, obj: dict) -> dict:
        self.objects[obj["id"]] = obj
        return obj

    def get(self, object_id: str, kind: str) -> dict | None:
        obj = self.objects.get(object_id)
        return obj if obj is not None and obj["object"] == kind else None

    def of_kind(self, kind: str) -> Iterator[dict]:
        return (obj for obj in self.objects.values() if obj["object"] == kind)
