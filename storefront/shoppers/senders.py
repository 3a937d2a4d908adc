"""Where sign-in codes go: a pluggable sender chosen by `settings.SHOPPER_CODE_SENDER`.

A sender is a class with `send(*, phone, code, expires_in)`; it raises `CodeSendFailed`
when the message could not be handed over. Production plugs in an SMS provider; development
writes the code to the log; tests collect codes in memory.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger("storefront.shoppers.codes")


class CodeSendFailed(Exception):
    """The sender could not hand the message over (provider down, number refused …)."""


class LoginCodeSender(Protocol):
    def send(self, *, phone: str, code: str, expires_in: int) -> None: ...


def mask_phone(phone: str) -> str:
    """138****1234: enough for a person to recognise their number, not enough to leak it."""
    if len(phone) < 8:
        return "****"
    return f"{phone[:3]}****{phone[-4:]}"


class LogCodeSender:
    """Development: the code appears in `make run`'s output (WARNING, so it is never
    filtered out). Never use in production: codes would sit in the logs."""

    def send(self, *, phone: str, code: str, expires_in: int) -> None:
        logger.warning("login code for %s: %s", mask_phone(phone), code)


@dataclass(frozen=True)
class SentCode:
    schema_name: str
    phone: str
    code: str
    expires_in: int
    sent_at: datetime = field(default_factory=timezone.now)


class MemoryCodeSender:
    """Tests: every message is kept in the class-level `outbox` (shared by all instances
    and threads) so a test can read the code a shopper would have received."""

    outbox: list[SentCode] = []
    _lock = threading.Lock()

    def send(self, *, phone: str, code: str, expires_in: int) -> None:
        with self._lock:
            self.outbox.append(
                SentCode(
                    schema_name=connection.schema_name, phone=phone, code=code,
                    expires_in=expires_in,
                )
            )

    @classmethod
    def clear(cls) -> None:
        with cls._lock:
            cls.outbox.clear()

    @classmethod
    def last_code(cls, phone: str) -> str | None:
        with cls._lock:
            for message in reversed(cls.outbox):
                if message.phone == phone:
                    return message.code
        return None


class DisabledCodeSender:
    """The production default until an SMS provider is configured: phone sign-in answers
    503 instead of silently writing codes to the logs."""

    def send(self, *, phone: str, code: str, expires_in: int) -> None:
        raise CodeSendFailed("No text-message sender is configured (SHOPPER_CODE_SENDER).")


def code_sender_get() -> LoginCodeSender:
    return import_string(settings.SHOPPER_CODE_SENDER)()
