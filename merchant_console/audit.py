"""The staff audit log: one chained row per staff action, written in the action's own
transaction (so a rolled-back action leaves no row, and a committed one always has one).

Each row's hash covers its id, time, actor, area, action, target, detail and the previous
row's hash. Appends are serialised per mall by a transaction-level advisory lock, so the
chain never forks. `audit_chain_verify` recomputes it; `manage.py audit_check` runs it for
every mall."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from merchant_console.models import AuditEntry

GENESIS = "0" * 64
_LOCK_KEY = 0x6175646974  # "audit": one advisory lock per schema's transaction

AREAS = [
    "overview", "goods", "orders", "after_sales", "distribution", "finance", "service",
    "settings", "staff",
]


def _digest(*, entry_id: int, at, actor_id, actor_email: str, area: str, action: str,
            target: str, detail: dict, prev_hash: str) -> str:
    payload = json.dumps(
        [entry_id, at.isoformat(), actor_id, actor_email, area, action, target, detail,
         prev_hash],
        sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder, ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def audit_record(*, actor, area: str, action: str, target: str = "",
                 detail: dict | None = None) -> AuditEntry:
    """Append one row for `actor`'s action. Call it inside the action's transaction."""
    if area not in AREAS:
        raise ValueError(f"unknown audit area {area!r}")
    detail = json.loads(json.dumps(detail or {}, cls=DjangoJSONEncoder))
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        last = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first()
        entry = AuditEntry(
            at=timezone.now(), actor_id=getattr(actor, "pk", None),
            actor_email=getattr(actor, "email", "") or "", area=area, action=action,
            target=str(target)[:200], detail=detail, prev_hash=last or GENESIS,
            hash="",
        )
        # The id is part of the hash, so take it from the sequence first.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [AuditEntry._meta.db_table]
            )
            entry.pk = cursor.fetchone()[0]
        entry.hash = _digest(
            entry_id=entry.pk, at=entry.at, actor_id=entry.actor_id,
            actor_email=entry.actor_email, area=area, action=action, target=entry.target,
            detail=detail, prev_hash=entry.prev_hash,
        )
        entry.save(force_insert=True)
    return entry


def audit_entries(*, person: str = "", area: str = "", since=None, until=None):
    """The log, newest first, filtered by part of the person's e-mail, the area and a
    time range (aware datetimes, inclusive)."""
    entries = AuditEntry.objects.order_by("-id")
    if person:
        entries = entries.filter(actor_email__icontains=person)
    if area:
        entries = entries.filter(area=area)
    if since:
        entries = entries.filter(at__gte=since)
    if until:
        entries = entries.filter(at__lte=until)
    return entries


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    reason: str


def audit_chain_verify() -> tuple[int, ChainBreak | None]:
    """(rows checked, the first break or None), over the whole log in id order."""
    previous = GENESIS
    checked = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        if entry.prev_hash != previous:
            return checked, ChainBreak(entry.pk, "does not follow the row before it")
        expected = _digest(
            entry_id=entry.pk, at=entry.at, actor_id=entry.actor_id,
            actor_email=entry.actor_email, area=entry.area, action=entry.action,
            target=entry.target, detail=entry.detail, prev_hash=entry.prev_hash,
        )
        if entry.hash != expected:
            return checked, ChainBreak(entry.pk, "content does not match its hash")
        previous = entry.hash
        checked += 1
    return checked, None
