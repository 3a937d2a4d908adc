"""Identifiers shaped like WeChat's, so the platform's columns and parsers see real lengths."""

from __future__ import annotations

import secrets
import string

from .clock import now


def _digits(length: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(length))


def prepay_id() -> str:
    """wx + 14-digit time + 20 hex, e.g. wx201410272009395522657a690389285100."""
    return "wx" + now().strftime("%Y%m%d%H%M%S") + secrets.token_hex(10)


def transaction_id() -> str:
    """28 digits starting 42000, e.g. 4200000985202103031441826014."""
    return "42000" + now().strftime("%Y%m%d") + _digits(15)


def refund_id() -> str:
    """29 digits starting 50, e.g. 50000000382019052709732678859."""
    return "50300" + now().strftime("%Y%m%d") + _digits(16)


def profitsharing_order_id() -> str:
    """28 digits starting 30, e.g. 3008450740201411110007820472."""
    return "30000" + now().strftime("%Y%m%d") + _digits(15)


def profitsharing_return_id() -> str:
    return "30010" + now().strftime("%Y%m%d") + _digits(15)


def profitsharing_detail_id() -> str:
    return "36011" + now().strftime("%Y%m%d") + _digits(15)


def transfer_bill_no() -> str:
    """40 digits, e.g. 1330000071100999991182020050700019480001."""
    return "1330000" + now().strftime("%Y%m%d") + _digits(25)


def notification_id() -> str:
    """A callback's `id`, e.g. EV-2018022511223320873 (WeChat now sends UUIDs too)."""
    return "EV-" + now().strftime("%Y%m%d%H%M%S") + _digits(7)


def nonce(length: int = 32) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def token(length: int = 32) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))
