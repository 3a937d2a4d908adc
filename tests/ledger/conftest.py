"""Ledger test helpers: a sale's legs, a savepoint rolled back."""

import contextlib

from django.db import transaction

from storefront.ledger.services import Leg


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
