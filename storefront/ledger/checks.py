"""The ledger check: does the mall's ledger say exactly what its money apps say happened?

The database already refuses unbalanced entries and rewritten history; what it cannot know
is whether every payment, refund or transfer was posted, and nothing else. So each money
app registers, for each `source` it posts, a provider yielding the entry each of its rows
must have (`register_expectations`), and may add invariants of its own (`register_check`),
from its AppConfig.ready(). `ledger_check()` then compares, in the current schema:

- the sum of all legs is 0 and every entry has at least 2 legs summing to 0;
- for each registered source, every expected entry exists with exactly the expected legs
  (a multiset of (code, party, amount)) and order, and every entry of the source was
  expected;
- no entry has a source nobody registered;
- every registered extra check returns no problem.

Cost: two small aggregates for the figures, one set-based query for the per-entry sums,
one per source for its entries and legs, one for the unregistered sources, plus the
providers' own queries. Everything of one source is
held in memory; past a few hundred thousand entries per mall this wants batching (a merge
of provider rows and entries both ordered by source_key, streamed with `.iterator()`), or
checking only what was posted since the last clean `LedgerCheckRun`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from storefront.ledger.models import JournalEntry, JournalLeg
from storefront.ledger.services import Leg, LegKey, leg_keys

# Per kind of problem, so a badly drifted mall still gives a readable report.
MAX_PROBLEMS_PER_KIND = 20


@dataclass(frozen=True)
class ExpectedEntry:
    """An entry a row of a money app must have: the arguments it posts with."""

    source_key: str
    legs: Sequence[Leg]
    order_id: int | None = None


@dataclass(frozen=True)
class LedgerReport:
    ok: bool
    problems: list[str] = field(default_factory=list)
    figures: dict[str, int] = field(default_factory=dict)  # entries, legs, total (fen)


Provider = Callable[[], Iterable[ExpectedEntry]]
ExtraCheck = Callable[[], list[str]]

_expectations: dict[str, Provider] = {}
_extra_checks: dict[str, ExtraCheck] = {}


def _register(registry: dict, name: str, fn: Callable, what: str) -> None:
    current = registry.get(name)
    if current is not None and current is not fn:
        raise ValueError(f"{what} {name!r} is already registered by {current!r}.")
    registry[name] = fn


def register_expectations(source: str, provider: Provider) -> None:
    """`provider()` yields an ExpectedEntry for every row that must have an entry of
    `source`. One provider per source; registering the same one again is harmless."""
    _register(_expectations, source, provider, "Ledger source")


def register_check(name: str, fn: ExtraCheck) -> None:
    """`fn()` returns a list of problem strings (empty when all is well)."""
    _register(_extra_checks, name, fn, "Ledger check")


def _capped(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_PROBLEMS_PER_KIND:
        return problems
    more = len(problems) - MAX_PROBLEMS_PER_KIND
    return [*problems[:MAX_PROBLEMS_PER_KIND], f"… and {more} more like these"]


def _describe(legs: Counter[LegKey]) -> str:
    return ", ".join(
        f"{code}{f'[{party}]' if party else ''} {amount:+d}"
        for (code, party, amount), times in sorted(legs.items())
        for _ in range(times)
    ) or "no legs"


def _figures() -> dict[str, int]:
    legs = JournalLeg.objects.aggregate(legs=Count("id"), total=Coalesce(Sum("amount_fen"), 0))
    return {"entries": JournalEntry.objects.count(), "legs": legs["legs"],
            "total": legs["total"]}


def _unbalanced_entries() -> list[str]:
    rows = (
        JournalEntry.objects.annotate(
            n=Count("legs"), total=Coalesce(Sum("legs__amount_fen"), 0)
        )
        .filter(Q(n__lt=2) | ~Q(total=0))
        .values_list("id", "source", "source_key", "n", "total")
        .order_by("id")
    )
    return [
        f"entry {pk} ({source}:{key}) has {n} leg(s) summing to {total} fen"
        for pk, source, key, n, total in rows
    ]


def _posted(source: str) -> dict[str, tuple[int | None, Counter[LegKey]]]:
    """{source_key: (order_id, legs)} of the entries of one source, in one query."""
    posted: dict[str, tuple[int | None, Counter[LegKey]]] = {}
    rows = JournalEntry.objects.filter(source=source).values_list(
        "source_key", "order_id", "legs__account__code", "legs__account__party",
        "legs__amount_fen",
    )
    for key, order_id, code, party, amount in rows:
        _, legs = posted.setdefault(key, (order_id, Counter()))
        if code is not None:
            legs[(code, party, amount)] += 1
    return posted


def _source_problems(source: str, provider: Provider) -> list[str]:
    posted = _posted(source)
    problems: list[str] = []
    seen: set[str] = set()
    for expected in provider():
        name = f"{source}:{expected.source_key}"
        if expected.source_key in seen:
            problems.append(f"{name} is expected twice (the provider repeats a key)")
            continue
        seen.add(expected.source_key)
        if expected.source_key not in posted:
            problems.append(f"{name} is missing (expected on order {expected.order_id})")
            continue
        order_id, legs = posted[expected.source_key]
        wanted = leg_keys(expected.legs)
        if legs != wanted:
            problems.append(f"{name} has legs {_describe(legs)}; expected {_describe(wanted)}")
        if order_id != expected.order_id:
            problems.append(f"{name} is on order {order_id}; expected {expected.order_id}")
    problems.extend(
        f"{source}:{key} was posted but no {source} row expects it"
        for key in sorted(posted.keys() - seen)
    )
    return problems


def _guarded(name: str, run: Callable[[], list[str]]) -> list[str]:
    """A failing provider or check is a problem of the report, not the end of the check;
    its savepoint keeps a database error from aborting the caller's transaction."""
    try:
        with transaction.atomic():
            return list(run())
    except Exception as exc:  # any bug in a registered callable must surface as a problem
        return [f"{name} failed: {exc.__class__.__name__}: {exc}"]


def ledger_check() -> LedgerReport:
    """Check the ledger of the current schema (see the module docstring)."""
    figures = _figures()
    problems: list[str] = []
    if figures["total"] != 0:
        problems.append(f"the legs sum to {figures['total']} fen instead of 0")
    problems += _capped(_unbalanced_entries())
    for source, provider in sorted(_expectations.items()):
        problems += _capped(
            _guarded(f"the expectations of {source}", partial(_source_problems, source, provider))
        )
    unregistered = (
        JournalEntry.objects.exclude(source__in=list(_expectations))
        .values_list("source").annotate(n=Count("id")).order_by("source")
    )
    problems += [
        f"{n} entr{'y' if n == 1 else 'ies'} of source {source!r}, which no app registered"
        for source, n in unregistered
    ]
    for name, check in sorted(_extra_checks.items()):
        problems += _capped([f"{name}: {p}" for p in _guarded("the check", check)])
    return LedgerReport(ok=not problems, problems=problems, figures=figures)
