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
    if code not in AccountCode.values:
        raise UnknownAccount(f"Unknown ledger account {code!r}.", fields={"account": [code]})
    return _total(JournalLeg.objects.filter(entry__order_id=order_id, account__code=code))


def ledger_total() -> int:
    """The sum of every leg of the mall: 0, always (the database refuses anything else)."""
    return _total(JournalLeg.objects.all())
