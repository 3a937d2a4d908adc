"""Merchant secrets at rest: encrypted with Fernet (AES-128-CBC + HMAC, `cryptography`).

SECRETS_ENCRYPTION_KEYS is a list: the first key encrypts, every key decrypts, so keys are
rotated by putting a new key first, running `manage.py rotate_secrets`, then dropping the
old key. Plaintext is never stored, logged or shown back.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=1)
def _cipher() -> MultiFernet:
    keys = list(settings.SECRETS_ENCRYPTION_KEYS)
    if not keys:
        if not settings.DEBUG:
            raise ImproperlyConfigured("SECRETS_ENCRYPTION_KEYS must be set in production")
        # Development only: a key derived from SECRET_KEY, stable across restarts.
        digest = hashlib.sha256(("secrets:" + settings.SECRET_KEY).encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def secret_encrypt(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("A stored secret cannot be decrypted with the keys") from exc


def secret_rotate(token: str) -> str:
    """Re-encrypt under the first key (MultiFernet.rotate keeps the plaintext)."""
    return _cipher().rotate(token.encode()).decode()
