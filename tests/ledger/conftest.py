"""Ledger test helpers: an empty check registry per test, a sale's legs, savepoints rolled
back, and an unbalanced entry slipped past the triggers."""

import contextlib

import pytest
from django.db import connection, transaction

from storefront.ledger import checks
from storefront.ledger.models import Account, JournalLeg
from storefront.ledger.services import Leg


@pytest.fixture(autouse=True)
def empty_check_registry(monkeypatch):
    """Each test registers only what it checks (and never sees the money apps' sources)."""
    monkeypatch.setattr(checks, "_expectations", {})
    monkeypatch.setattr(checks, "_extra_checks", {})


def sale(amount_fen: int) -> list[Leg]:
    """A payment landing in WeChat clearing as sales revenue."""
    return [Leg("wechat_clearing", amount_fen), Leg("sales_revenue", -amount_fen)]


@contextlib.contextmanager
def rolled_back():
    """A savepoint rolled back on leaving: rows, trigger state and pending deferred checks
    written inside it are gone before the test ends."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@contextlib.contextmanager
def unbalanced_entry(*amounts: int, key: str = "X1"):
    """An entry whose legs do not balance, posted with the balance trigger disabled, all
    inside a savepoint rolled back on leaving (trigger state, rows and the entry's pending
    deferred check with it). Yields the entry's id. Only a superuser or the tables' owner
    can do this; the tests' database user is both."""
    with rolled_back():
        clearing = Account.objects.get_or_create(code="wechat_clearing", party="")[0]
        revenue = Account.objects.get_or_create(code="sales_revenue", party="")[0]
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE ledger_journalleg DISABLE TRIGGER ledger_journalleg_balanced"
            )
            cursor.execute(
                "INSERT INTO ledger_journalentry (source, source_key, memo, posted_at) "
                "VALUES ('payment', %s, '', now()) RETURNING id", [key]
            )
            entry_id = cursor.fetchone()[0]
        JournalLeg.objects.bulk_create(
            JournalLeg(entry_id=entry_id, account=clearing if amount > 0 else revenue,
                       amount_fen=amount)
            for amount in amounts
        )
        yield entry_id
