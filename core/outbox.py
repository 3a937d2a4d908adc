"""The transactional outbox: tasks decided in a transaction survive a broker outage.

`enqueue` writes an `OutboxMessage` in the caller's transaction and, once it commits, sends
it to the broker and deletes the row. If the broker is unreachable the request goes on
normally (a warning is logged) and the row waits for `relay`, which the beat runs every
minute in every schema. The message carries the schema it was written in
(tenant-schemas-celery stamps the current connection's schema on every message), so the
task runs in the right mall however late it is sent.

`send_after_commit` is the exception, for work a sweeper redoes anyway (timers): no row,
a best-effort send after the commit that never fails the request.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

from celery import current_app
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import schema_context

from core.models import OutboxMessage

logger = logging.getLogger(__name__)

# Messages younger than this are left to the sender that wrote them (it sends right after
# its commit); the relay takes only what that sender could not deliver.
RELAY_MIN_AGE = dt.timedelta(seconds=10)
RELAY_BATCH = 500


def enqueue(
    task: str, *, args: Sequence = (), kwargs: dict | None = None,
    eta: dt.datetime | None = None,
) -> OutboxMessage:
    """Record task `task` (dotted name) to be sent once the current transaction commits.

    The row is written in the current schema and the task will run in it."""
    message = OutboxMessage.objects.create(
        task=task, args=list(args), kwargs=kwargs or {}, eta=eta
    )
    schema = connection.schema_name
    transaction.on_commit(lambda: _deliver_in(schema, message))
    return message


def _deliver_in(schema: str, message: OutboxMessage) -> None:
    """After the commit the connection may have moved to another schema (a signup writes
    in public and in the new mall's schema): send and delete from the row's own schema."""
    if connection.schema_name == schema:
        deliver([message])
        return
    with schema_context(schema):
        deliver([message])


def send_after_commit(
    task: str, *, args: Sequence = (), kwargs: dict | None = None,
    eta: dt.datetime | None = None,
) -> None:
    """For work a periodic sweeper also does, and only for that (the order's auto-cancel
    timer: the per-minute sweep cancels whatever it misses). Sent after the commit with no
    outbox row — a lost message costs nothing but punctuality — so the hot path saves a
    write and a commit. A broker outage is logged, never raised into the request."""
    message = OutboxMessage(task=task, args=list(args), kwargs=kwargs or {}, eta=eta)

    def send() -> None:
        try:
            _send(message)
        except Exception as exc:  # as in deliver(): the caller's answer must not depend on it
            logger.warning("%s not sent (%s: %s); its sweeper will do the work",
                           task, exc.__class__.__name__, exc)

    transaction.on_commit(send)


def _send(message: OutboxMessage) -> None:
    # retry=False: with the broker down, fail at once instead of holding the request.
    current_app.send_task(
        message.task, args=message.args, kwargs=message.kwargs, eta=message.eta, retry=False
    )


def deliver(messages: Iterable[OutboxMessage]) -> int:
    """Send messages and delete them; stop at the first the broker refuses (the rest
    would fail the same way) and leave them for the relay. Returns how many went out."""
    sent: list[int] = []
    for message in messages:
        try:
            _send(message)
        except Exception as exc:  # kombu/redis raise many kinds; none may break the caller
            logger.warning("outbox: %s not sent (%s: %s); the relay will retry",
                           message, exc.__class__.__name__, exc)
            OutboxMessage.objects.filter(pk=message.pk).update(
                attempts=F("attempts") + 1, last_error=f"{exc.__class__.__name__}: {exc}"[:300]
            )
            break
        sent.append(message.pk)
    if sent:
        _forget(sent)
    return len(sent)


def _forget(message_ids: list[int]) -> None:
    """Delete sent rows. Right after a commit (no transaction open) the deletion does not
    wait for the WAL flush: were it lost in a crash, the relay would send those messages
    again, which tasks tolerate; the request that queued them saves a synchronous commit."""
    rows = OutboxMessage.objects.filter(pk__in=message_ids)
    if connection.in_atomic_block:  # the relay's own transaction
        rows._raw_delete(connection.alias)
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        rows._raw_delete(connection.alias)


def relay(*, min_age: dt.timedelta = RELAY_MIN_AGE, limit: int = RELAY_BATCH) -> int:
    """Send what is waiting in the current schema, oldest first. Concurrent relays skip
    each other's rows (SKIP LOCKED), so nothing is sent twice by two relays."""
    with transaction.atomic():
        waiting = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(created_at__lte=timezone.now() - min_age)
            .order_by("id")[:limit]
        )
        return deliver(waiting)
