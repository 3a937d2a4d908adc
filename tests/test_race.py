"""The race harness itself (tests/race.py): calls really run at once, each on its own
connection that is closed afterwards, outcomes come back in order, and a competing write
is seen waiting on a lock."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from core.errors import Conflict
from tests.race import race, write_at

pytestmark = pytest.mark.usefixtures("transactional_db")

LOCK_KEY = 7_350_001


def _step() -> str:
    return "step"


def _backend() -> tuple[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema(), pg_backend_pid()")
        return cursor.fetchone()


def _live_backends(pids: set[int]) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)])
        return {pid for (pid,) in cursor.fetchall()}


def test_calls_run_at_once_and_outcomes_come_back_in_order():
    meeting = threading.Barrier(3, timeout=10)  # met only if all three run at the same time

    def meet():
        meeting.wait()
        return 1

    def refuse():
        meeting.wait()
        raise Conflict("taken")

    def crash():
        meeting.wait()
        raise ValueError("boom")

    result = race([meet, refuse, crash])

    assert result.peak == 3
    assert [outcome.label for outcome in result.outcomes] == [
        "ok", "conflict", "error:ValueError:boom"]
    assert result.values() == [1]


def test_each_call_has_its_own_connection_closed_at_the_end():
    result = race([_backend] * 4)

    schemas = {schema for schema, _ in result.values()}
    pids = {pid for _, pid in result.values()}
    assert schemas == {"public"}
    assert len(pids) == 4 and _backend()[1] not in pids
    deadline = time.monotonic() + 5
    while _live_backends(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _live_backends(pids) == set()


def _take_the_lock() -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
    return "locked"


def test_a_write_that_waits_on_the_callers_lock_is_seen_blocked_and_finishes_after():
    with (write_at(f"{__name__}._step", _take_the_lock) as rival, transaction.atomic(),
          connection.cursor() as cursor):
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        assert _step() == "step"
        assert rival.ran and rival.blocked
        assert rival.outcome.value is None  # still waiting while the lock is held

    assert (rival.blocked, rival.outcome.value) == (True, "locked")


def test_a_write_that_takes_no_held_lock_finishes_before_the_caller_goes_on():
    with write_at(f"{__name__}._step", _take_the_lock, after=False) as rival:
        assert _step() == "step"
        assert (rival.blocked, rival.outcome.value) == (False, "locked")


def test_a_step_that_is_never_reached_fails_the_test():
    with pytest.raises(AssertionError, match="was never called"), write_at(
        f"{__name__}._step", _take_the_lock
    ):
        pass
