"""Reading the ledger of the current mall. Balances are sums over legs (no cached running
balance: none is needed until a benchmark shows it), in signed fen: debit-normal accounts
(clearing, expenses, refunds) are positive, credit-normal ones (revenue, payables) negative."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, Q, Sum, Window
from django.db.models.functions import Coalesce

from storefront.ledger.errors import AccountNotFound, UnknownAccount
from storefront.ledger.models import (
    Account,
    AccountCode,
    JournalLeg,
    LedgerCheckRun,
    account_problem,
)


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


# --- Reading by period: the console's ledger and the accountant's export ------------------


@dataclass(frozen=True)
class AccountPeriod:
    """One account over [start, end): its balance before, its debits (> 0) and credits
    (< 0, kept signed) within, and its balance at the end. closing = opening + debits +
    credits, by construction of the one query that reads them."""

    account_id: int
    code: str
    party: str
    opening_fen: int
    debit_fen: int
    credit_fen: int
    closing_fen: int


def account_period_balances(*, start: dt.datetime, end: dt.datetime) -> list[AccountPeriod]:
    """Every account with legs posted before `end`, in (code, party) order, in one
    aggregate query over the legs (an index on posted_at is not needed: every leg before
    `end` is read once)."""
    before_start = Q(legs__entry__posted_at__lt=start)
    within = Q(legs__entry__posted_at__gte=start, legs__entry__posted_at__lt=end)
    rows = (
        Account.objects.filter(legs__entry__posted_at__lt=end)
        .annotate(
            opening=Coalesce(Sum("legs__amount_fen", filter=before_start), 0),
            debits=Coalesce(Sum("legs__amount_fen", filter=within & Q(legs__amount_fen__gt=0)), 0),
            credits=Coalesce(Sum("legs__amount_fen", filter=within & Q(legs__amount_fen__lt=0)), 0),
        )
        .values_list("pk", "code", "party", "opening", "debits", "credits")
        .order_by("code", "party")
    )
    return [
        AccountPeriod(account_id=pk, code=code, party=party, opening_fen=opening,
                      debit_fen=debits, credit_fen=credits, closing_fen=opening + debits + credits)
        for pk, code, party, opening, debits, credits in rows
    ]


def account_get(*, account_id: int) -> Account:
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        raise AccountNotFound()
    return account


def account_opening(*, account_id: int, start: dt.datetime) -> int:
    """The balance of an account before `start`."""
    return _total(JournalLeg.objects.filter(account_id=account_id, entry__posted_at__lt=start))


def account_legs(*, account_id: int, start: dt.datetime, end: dt.datetime):
    """The legs of one account posted in [start, end), oldest first, each with its entry
    and `running_fen`: the sum of the period's legs up to and including it (a window
    function, computed before any LIMIT, so a page of legs still carries the right sum)."""
    return (
        JournalLeg.objects.filter(
            account_id=account_id, entry__posted_at__gte=start, entry__posted_at__lt=end
        )
        .select_related("entry")
        .annotate(running_fen=Window(
            Sum("amount_fen"), order_by=[F("entry__posted_at").asc(), F("id").asc()],
        ))
        .order_by("entry__posted_at", "id")
    )


def journal_legs(*, start: dt.datetime, end: dt.datetime):
    """Every leg of the entries posted in [start, end), entry by entry, with its entry and
    account: the journal as an accountant reads it. Iterate it with .iterator()."""
    return (
        JournalLeg.objects.filter(entry__posted_at__gte=start, entry__posted_at__lt=end)
        .select_related("entry", "account")
        .order_by("entry__posted_at", "entry_id", "id")
    )


def check_run_latest() -> LedgerCheckRun | None:
    """The last run of the nightly check, or None before the first."""
    return LedgerCheckRun.objects.order_by("-ran_at", "-id").first()
