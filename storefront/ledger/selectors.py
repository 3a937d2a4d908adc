"""Reading the ledger of the current mall. Balances are sums over legs (no cached running
balance: none is needed until a benchmark shows it), in signed fen: debit-normal accounts
(clearing, expenses, refunds) are positive, credit-normal ones (revenue, payables) negative."""

from __future__ import annotations

from django.db.models import Sum

from storefront.ledger.errors import UnknownAccount
from storefront.ledger.models import AccountCode, JournalLeg, account_problem


def _total(legs) -> int:
    return legs.aggregate(total=Sum("amount_fen"))["total"] or 0


def account_balance(*, code: str, party: str = "") -> int:
    """The balance of one account; 0 for an account nothing was posted to yet."""
    problem = account_problem(code, party)
    if problem:
        raise UnknownAccount(problem, fields={"account": [f"{code}[{party}]"]})
    return _total(JournalLeg.objects.filter(account__code=code, account__party=party))


def balances() -> dict[tuple[str, str], int]:
    """{(code, party): balance} of every account that has legs."""
    rows = (
        JournalLeg.objects.values_list("account__code", "account__party")
        .annotate(total=Sum("amount_fen"))
        .order_by("account__code", "account__party")
    )
    return {(code, party): total for code, party, total in rows}


def order_account_total(*, order_id: int, code: str) -> int:
    """The sum of the legs on account `code` (all its parties) over the entries of an
    order: e.g. what an order brought into WeChat clearing, net of its refunds."""
    _known(code)
    return _total(JournalLeg.objects.filter(entry__order_id=order_id, account__code=code))


def ledger_total() -> int:
    """The sum of every leg of the mall: 0, always (the database refuses anything else)."""
    return _total(JournalLeg.objects.all())


def _known(code: str) -> None:
    if code not in AccountCode.values:
        raise UnknownAccount(f"Unknown ledger account {code!r}.", fields={"account": [code]})


def order_totals(*, code: str) -> dict[int, int]:
    """{order_id: sum of its legs on account `code`} over every order with such legs: the
    set-based form of order_account_total, for checks over all orders."""
    _known(code)
    rows = (
        JournalLeg.objects.filter(account__code=code, entry__order_id__isnull=False)
        .values_list("entry__order_id").annotate(total=Sum("amount_fen")).order_by()
    )
    return dict(rows)


def entry_totals(*, source: str, source_keys: list[str], code: str) -> dict[str, int]:
    """{source_key: sum of the entry's legs on account `code`} for the given entries of a
    source that were posted (a key absent from the answer has no entry)."""
    _known(code)
    rows = (
        JournalLeg.objects.filter(
            entry__source=source, entry__source_key__in=source_keys, account__code=code
        )
        .values_list("entry__source_key").annotate(total=Sum("amount_fen")).order_by()
    )
    return dict(rows)
