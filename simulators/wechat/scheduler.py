"""One timer thread for everything that happens later: refunds and profit sharing
finishing, callback attempts and their retries."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Scheduler:
    """Runs callables after a delay on a single daemon thread. The callables must be quick:
    anything that does network I/O hands itself to a worker pool."""

    def __init__(self) -> None:
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wakeup = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="wechat-sim-scheduler", daemon=True)
        self._thread.start()

    def call_later(self, delay: float, action: Callable[[], None]) -> None:
        with self._wakeup:
            heapq.heappush(
                self._queue, (time.monotonic() + max(delay, 0.0), next(self._order), action)
            )
            self._wakeup.notify()

    def stop(self) -> None:
        with self._wakeup:
            self._stopped = True
            self._wakeup.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._stopped and (
                    not self._queue or self._queue[0][0] > time.monotonic()
                ):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._wakeup.wait(timeout)
                if self._stopped:
                    return
                _, _, action = heapq.heappop(self._queue)
            try:
                action()
            except Exception:
                log.exception("scheduled action failed")
