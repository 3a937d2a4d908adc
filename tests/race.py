"""Racing threads against the real PostgreSQL, one way for every test.

`race(calls, tenant=...)` starts one thread per callable; each opens its own database
connection in the tenant's schema (the public one without a tenant), waits at a barrier
so that all start together, runs its callable, and closes its connection. The answer
keeps each callable's return value or exception, in the order given, and how many calls
were in flight at once, so a test can check that its race really raced.

    result = race([partial(order_place, shopper=s, ...) for s in shoppers], tenant=mall)
    assert result.labels() == Counter({"ok": 50, "out_of_stock": 150})

`write_at(target, write, tenant=...)` is the deterministic kind (the idea of Saleor's
saleor/tests/race_condition.py, with a real second connection): the first call of the
function `target` names, from whatever thread, runs `write` in a thread and connection
of its own just before (or after) that call. If `write` waits on a lock that the caller
holds, the caller goes on and `write` finishes once the lock is released; `blocked` says
which happened, `outcome` what `write` got.

    with write_at("storefront.shoppers.services.phone_lock_for_codes",
                  lambda: login_code_request(consent=AGREED, phone=PHONE), tenant=mall) as rival:
        login_code_request(consent=AGREED, phone=PHONE)
    assert rival.blocked and rival.outcome.label == "login_code_rate_limited"

Only for tests that really commit (`committed_cleanup` / `transactional_db`): the
threads' connections cannot see the rows of a test's open transaction.
"""

from __future__ import annotations

import pkgutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from django.db import connection

from tenants.models import Merchant


@dataclass
class Outcome:
    """What one call got: its return value, or the exception it raised."""

    value: Any = None
    error: BaseException | None = None

    @property
    def label(self) -> str:
        """"ok"; a domain error's code (e.g. "out_of_stock"); else "error:Class:message"."""
        if self.error is None:
            return "ok"
        code = getattr(self.error, "code", None)
        if isinstance(code, str):
            return code
        return f"error:{type(self.error).__name__}:{self.error}"


@dataclass
class RaceResult:
    outcomes: list[Outcome]
    peak: int  # the most calls that were running at the same moment

    def labels(self) -> Counter:
        return Counter(outcome.label for outcome in self.outcomes)

    def values(self) -> list[Any]:
        return [outcome.value for outcome in self.outcomes if outcome.error is None]


def _enter_schema(tenant: Merchant | None) -> None:
    if tenant is None:
        connection.set_schema_to_public()
    else:
        connection.set_tenant(tenant)


def race(
    calls: Sequence[Callable[[], Any]], *, tenant: Merchant | None = None,
    timeout: float = 120.0,
) -> RaceResult:
    """Run every callable at once, each in its own thread and connection (see above).
    A thread still running after `timeout` seconds fails the test."""
    barrier = threading.Barrier(len(calls), timeout=timeout)
    outcomes: list[Outcome | None] = [None] * len(calls)
    counter = threading.Lock()
    running = peak = 0

    def run(index: int, call: Callable[[], Any]) -> None:
        nonlocal running, peak
        try:
            _enter_schema(tenant)
            connection.ensure_connection()  # connected before the start, not during it
            barrier.wait()
            with counter:
                running += 1
                peak = max(peak, running)
            try:
                outcomes[index] = Outcome(value=call())
            except Exception as exc:  # kept for the test to assert on
                outcomes[index] = Outcome(error=exc)
            finally:
                with counter:
                    running -= 1
        except Exception as exc:  # could not connect, or the barrier broke
            outcomes[index] = Outcome(error=exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, call), daemon=True, name=f"race-{index}")
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    hung = [thread.name for thread in threads if thread.is_alive()]
    assert not hung, f"still running after {timeout} s: {hung}"
    return RaceResult(outcomes=[outcome or Outcome() for outcome in outcomes], peak=peak)


@dataclass
class Rival:
    """The competing write of `write_at`: filled in when the context exits."""

    outcome: Outcome = field(default_factory=Outcome)
    blocked: bool = False  # it waited on a lock the caller held
    ran: bool = False  # `target` was called, so the write was made


def waits_on_a_lock(pid: int) -> bool:
    """Whether backend `pid` waits on a lock now. Asked from a connection that may be in a
    transaction, whose activity statistics are a snapshot: drop it before every look."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


@contextmanager
def write_at(
    target: str, write: Callable[[], Any], *, tenant: Merchant | None = None,
    after: bool = True, timeout: float = 30.0,
) -> Iterator[Rival]:
    """Patch `target` (a dotted path, as for mock.patch) so that its first call runs
    `write` in another connection just after it returns (`after=False`: just before it
    starts), then goes on once `write` has finished or is seen waiting on a lock in
    pg_stat_activity. On exit, waits for `write`; a `target` that was never called fails
    the test (a renamed step would otherwise silently stop racing)."""
    rival = Rival()
    started = threading.Event()
    pid: list[int] = []
    thread: threading.Thread | None = None
    function = pkgutil.resolve_name(target)
    fired = threading.Lock()

    def compete() -> None:
        try:
            _enter_schema(tenant)
            connection.ensure_connection()
            pid.append(connection.connection.info.backend_pid)
            started.set()
            rival.outcome = Outcome(value=write())
        except Exception as exc:  # kept for the test to assert on
            rival.outcome = Outcome(error=exc)
        finally:
            started.set()
            connection.close()

    def start_rival() -> None:
        nonlocal thread
        rival.ran = True
        thread = threading.Thread(target=compete, daemon=True, name="race-rival")
        thread.start()
        started.wait(timeout)
        deadline = time.monotonic() + timeout
        while thread.is_alive() and time.monotonic() < deadline:
            if pid and waits_on_a_lock(pid[0]):
                rival.blocked = True
                return
            time.sleep(0.01)

    def patched(*args, **kwargs):
        first = fired.acquire(blocking=False)
        if first and not after:
            start_rival()
        result = function(*args, **kwargs)
        if first and after:
            start_rival()
        return result

    with mock.patch(target, patched):
        yield rival
    assert rival.ran, f"{target} was never called: the write was not made"
    thread.join(timeout)
    assert not thread.is_alive(), f"the write at {target} still runs after {timeout} s"
