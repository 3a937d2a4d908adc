"""Posting to the ledger: the one write of this app.

Money apps call `entry_post` from their in-transaction domain-event subscribers, so a
posting commits or rolls back with the state change it records. Python validates first and
answers a stable error code; PostgreSQL then enforces the same rules for every other path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from storefront.ledger.errors import EntryInvalid, EntryUnbalanced, SourceKeyReused
from storefront.ledger.models import (
    Account,
    JournalEntry,
    JournalLeg,
    account_problem,
)

# PostgreSQL's bigint: a leg outside it would fail in the database instead of here.
_MAX_FEN = 2**63 - 1


@dataclass(frozen=True)
class Leg:
    """A debit (amount_fen > 0) or credit (< 0) of account `account` (an AccountCode)."""

    account: str
    amount_fen: int
    party: str = ""


LegKey = tuple[str, str, int]  # (code, party, amount_fen): what makes two legs the same


def _field_max(model, name: str) -> int:
    return model._meta.get_field(name).max_length


def _validate(*, source, source_key, legs, order_id, memo) -> None:
    for name, value in (("source", source), ("source_key", source_key)):
        if not isinstance(value, str) or not value:
            raise EntryInvalid(f"A journal entry needs a {name}.", fields={name: [repr(value)]})
        if len(value) > _field_max(JournalEntry, name):
            raise EntryInvalid(f"The {name} is too long.", fields={name: [value]})
    if not isinstance(memo, str) or len(memo) > _field_max(JournalEntry, "memo"):
        raise EntryInvalid("The memo must be a string of at most 200 characters.",
                           fields={"memo": [repr(memo)[:50]]})
    if order_id is not None and (type(order_id) is not int or order_id <= 0):
        raise EntryInvalid("An order id is a positive integer.",
                           fields={"order_id": [repr(order_id)]})
    if isinstance(legs, str | bytes) or not isinstance(legs, Sequence):
        raise EntryInvalid("The legs must be a list of Leg.", fields={"legs": [repr(legs)]})
    if len(legs) < 2:
        raise EntryUnbalanced("A journal entry needs at least two legs.",
                              fields={"legs": [str(len(legs))]})
    for leg in legs:
        if not isinstance(leg, Leg):
            raise EntryInvalid("Each leg must be a Leg.", fields={"legs": [repr(leg)]})
        # bool is an int subclass: True would post one fen without anyone meaning it.
        if type(leg.amount_fen) is not int:
            raise EntryInvalid("Amounts are integer fen.", fields={"amount_fen": [repr(leg)]})
        if leg.amount_fen == 0 or abs(leg.amount_fen) > _MAX_FEN:
            raise EntryInvalid("A leg moves a non-zero amount within bigint range.",
                               fields={"amount_fen": [repr(leg)]})
        problem = account_problem(leg.account, leg.party)
        if problem:
            raise EntryInvalid(problem, fields={"account": [f"{leg.account}[{leg.party}]"]})
    total = sum(leg.amount_fen for leg in legs)
    if total != 0:
        raise EntryUnbalanced(f"The legs sum to {total} fen instead of 0.",
                              fields={"legs": [str(total)]})


def _accounts_for(legs: Sequence[Leg]) -> dict[tuple[str, str], Account]:
    """The accounts of `legs`, creating the missing ones.

    Race-safe: INSERT … ON CONFLICT DO NOTHING waits for a concurrent transaction that
    inserts the same account and skips the row once it commits; the SELECT after it (a new
    statement, so a new READ COMMITTED snapshot) then sees that row.
    """
    wanted = {(leg.account, leg.party) for leg in legs}

    def fetch() -> dict[tuple[str, str], Account]:
        codes = {code for code, _ in wanted}
        parties = {party for _, party in wanted}
        return {
            (a.code, a.party): a
            for a in Account.objects.filter(code__in=codes, party__in=parties)
            if (a.code, a.party) in wanted
        }

    found = fetch()
    missing = wanted - found.keys()
    if missing:
        Account.objects.bulk_create(
            [Account(code=code, party=party) for code, party in sorted(missing)],
            ignore_conflicts=True,
        )
        found = fetch()
    return found


def leg_keys(legs: Sequence[Leg]) -> Counter[LegKey]:
    """The multiset of (code, party, amount_fen) of some legs: two entries move the same
    money when theirs are equal, whatever the order of the legs."""
    return Counter((leg.account, leg.party, leg.amount_fen) for leg in legs)


def _replayed(entry: JournalEntry, *, legs: Sequence[Leg], order_id: int | None) -> JournalEntry:
    posted = Counter(entry.legs.values_list("account__code", "account__party", "amount_fen"))
    if entry.order_id != order_id or posted != leg_keys(legs):
        raise SourceKeyReused(
            f"{entry.source}:{entry.source_key} was posted with other legs or for another "
            "order; a replay must ask for exactly the same money.",
            fields={"source_key": [entry.source_key]},
        )
    return entry


def entry_post(
    *,
    source: str,
    source_key: str,
    legs: Sequence[Leg],
    order_id: int | None = None,
    memo: str = "",
) -> JournalEntry:
    """Post one balanced journal entry, once per (source, source_key).

    Runs in the caller's transaction (its own when there is none). A replay of a key posts
    nothing and returns the entry already posted; so does a concurrent posting of the same
    key, once the transaction that won commits (the loser's INSERT waits on the unique
    index, fails, its savepoint is rolled back, and under READ COMMITTED, Django's default,
    its next SELECT sees the winner's entry). A key replayed with different legs or
    another order raises SourceKeyReused (409): the money app reused a key for other money.

    All legs go in one INSERT: the database checks the balance per statement.
    """
    _validate(source=source, source_key=source_key, legs=legs, order_id=order_id, memo=memo)
    with transaction.atomic():
        existing = JournalEntry.objects.filter(source=source, source_key=source_key).first()
        if existing is not None:
            return _replayed(existing, legs=legs, order_id=order_id)
        accounts = _accounts_for(legs)
        try:
            with transaction.atomic():
                entry = JournalEntry.objects.create(
                    source=source, source_key=source_key, order_id=order_id, memo=memo
                )
        except IntegrityError:
            # Not matched by constraint name: clones of the template rename unique
            # constraints (django-tenants' clone_schema), so look for the winner instead.
            existing = JournalEntry.objects.filter(source=source, source_key=source_key).first()
            if existing is None:
                raise
            return _replayed(existing, legs=legs, order_id=order_id)
        JournalLeg.objects.bulk_create(
            JournalLeg(entry=entry, account=accounts[(leg.account, leg.party)],
                       amount_fen=leg.amount_fen)
            for leg in legs
        )
    return entry
