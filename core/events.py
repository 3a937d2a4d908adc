"""Domain events: a transition publishes what happened, the apps that care subscribe.

Two kinds of subscriber, both registered by the subscribing app (in its AppConfig.ready()):

- `subscriber(name)` handlers run **inside the transaction** that made the change, in
  registration order (ledger postings, stock, counters). If one raises, the whole change
  rolls back: nothing is half-done.
- `task_subscriber(name, task)` queues a Celery task **after commit**, through the outbox:
  the message is a row written in the same transaction and sent once it commits (or later,
  by the relay, when the broker was down). Messages, notifications, calls to WeChat.

This replaces imports between domain apps: the app that publishes does not know who listens.
Events carry JSON-safe `data` (ids, amounts, states) and, for in-transaction handlers only,
the `subject` row itself.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction


@dataclass(frozen=True)
class DomainEvent:
    name: str
    data: Mapping[str, Any]
    subject: Any = field(default=None, compare=False)


Handler = Callable[[DomainEvent], None]
KwargsFor = Callable[[DomainEvent], dict]

_handlers: dict[str, list[Handler]] = defaultdict(list)
_tasks: dict[str, list[tuple[str, KwargsFor]]] = defaultdict(list)
_recorders: list[list[DomainEvent]] = []


def subscriber(name: str) -> Callable[[Handler], Handler]:
    """Decorator: run `handler(event)` inside the publishing transaction."""

    def register(handler: Handler) -> Handler:
        if handler not in _handlers[name]:
            _handlers[name].append(handler)
        return handler

    return register


def task_subscriber(name: str, task: str, *, kwargs: KwargsFor) -> None:
    """Queue Celery task `task` (dotted name) with `kwargs(event)` after the commit."""
    entry = (task, kwargs)
    if all(existing != task for existing, _ in _tasks[name]):
        _tasks[name].append(entry)


def publish(name: str, *, subject: Any = None, **data: Any) -> DomainEvent:
    """Tell the subscribers. Must run inside the transaction that made the change, so the
    handlers' writes and the outbox rows commit (or roll back) with it."""
    from core import outbox

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"Publish {name!r} inside the transaction that made the change.")
    event = DomainEvent(name=name, data=data, subject=subject)
    for recorder in _recorders:
        recorder.append(event)
    for handler in list(_handlers.get(name, ())):
        handler(event)
    for task, kwargs_for in list(_tasks.get(name, ())):
        outbox.enqueue(task, kwargs=kwargs_for(event))
    return event


def subscribers_of(name: str) -> tuple[list[Handler], list[str]]:
    """(in-transaction handlers, task names) registered for an event, for tests and docs."""
    return list(_handlers.get(name, ())), [task for task, _ in _tasks.get(name, ())]


@contextlib.contextmanager
def recorded() -> Iterator[list[DomainEvent]]:
    """Collect every event published in the block (tests)."""
    events: list[DomainEvent] = []
    _recorders.append(events)
    try:
        yield events
    finally:
        _recorders.remove(events)
