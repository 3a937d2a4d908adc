"""Signing a new owner in across hosts: the signup happens on the platform host, the
session must live on the mall's host (sessions are per host and per schema).

The public site hands the browser a short-lived signed token naming the schema and the
user; the mall's host accepts it once, for that schema only, and opens a session there.
"""

from __future__ import annotations

import secrets

from django.core import signing
from django.core.cache import cache

_SALT = "tenants.handoff.owner-signin"
MAX_AGE_SECONDS = 120


def handoff_token_create(*, schema_name: str, user_id: int) -> str:
    return signing.dumps(
        {"schema": schema_name, "user": user_id, "nonce": secrets.token_urlsafe(12)},
        salt=_SALT,
    )


def handoff_token_consume(*, token: str, schema_name: str) -> int | None:
    """The user id the token signs in, or None if it is forged, stale, used, or for
    another mall. The nonce is burnt in the (tenant-prefixed) cache: one use only."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if payload.get("schema") != schema_name:
        return None
    if not cache.add(f"handoff:{payload['nonce']}", 1, MAX_AGE_SECONDS * 2):
        return None
    return int(payload["user"])
