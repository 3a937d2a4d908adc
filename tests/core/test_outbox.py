"""The outbox against the real broker (the embedded Redis): a task queued in a transaction
is a row that commits with it, goes to the broker after the commit and is then deleted;
a rolled-back transaction sends nothing; the relay sends what could not go."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import redis
from django.conf import settings
from django.db import transaction

from control_plane.celery import app as celery_app
from core import events, outbox
from core.models import OutboxMessage

TASK = "storefront.notifications.tasks.notify_order_event"


@pytest.fixture
def broker():
    """The broker's default queue, emptied before and after."""
    celery_app.control.purge()
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    celery_app.control.purge()


def test_a_task_goes_out_after_the_commit_and_its_row_goes_away(
    mall, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outbox.enqueue(TASK, kwargs={"order_id": 7, "event": "paid"})
        assert OutboxMessage.objects.count() == 1
        assert broker.llen("celery") == 0  # nothing before the commit

    assert OutboxMessage.objects.count() == 0
    queued = broker.lrange("celery", 0, -1)
    assert len(queued) == 1
    headers = json.loads(queued[0])["headers"]
    assert (headers["task"], headers["_schema_name"]) == (TASK, mall.schema_name)


def test_a_rolled_back_change_sends_nothing(mall, broker, django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks(execute=True) as callbacks,
          pytest.raises(RuntimeError), transaction.atomic()):
        outbox.enqueue(TASK, kwargs={"order_id": 7, "event": "paid"})
        raise RuntimeError("the change failed")

    assert callbacks == []
    assert OutboxMessage.objects.count() == 0
    assert broker.llen("celery") == 0


def test_the_relay_sends_what_waited_and_leaves_the_newest_to_their_sender(mall, broker):
    old = OutboxMessage.objects.create(task=TASK, kwargs={"order_id": 1, "event": "paid"})
    OutboxMessage.objects.filter(pk=old.pk).update(
        created_at=old.created_at - dt.timedelta(minutes=5)
    )
    OutboxMessage.objects.create(task=TASK, kwargs={"order_id": 2, "event": "paid"})

    assert outbox.relay() == 1

    assert list(OutboxMessage.objects.values_list("kwargs__order_id", flat=True)) == [2]
    assert broker.llen("celery") == 1


def test_a_task_subscriber_queues_through_the_outbox_in_the_publishing_transaction(mall):
    name = "test.outbox_subscriber"
    events.task_subscriber(name, TASK, kwargs=lambda event: {"order_id": event.data["id"],
                                                              "event": "paid"})
    with transaction.atomic():
        events.publish(name, id=42)
        row = OutboxMessage.objects.get()
    assert (row.task, row.kwargs) == (TASK, {"order_id": 42, "event": "paid"})


def test_publishing_outside_a_transaction_is_refused():
    """Subscribers' writes must commit or roll back with the change: no transaction, no
    event (this test has no database transaction at all)."""
    with pytest.raises(RuntimeError, match="inside the transaction"):
        events.publish("test.outbox_subscriber", id=43)


def test_an_in_transaction_subscriber_that_fails_rolls_the_change_back(mall):
    name = "test.failing_subscriber"

    @events.subscriber(name)
    def refuse(event):
        raise ValueError("the ledger refused it")

    with pytest.raises(ValueError), transaction.atomic():
        OutboxMessage.objects.create(task=TASK)  # stands for the change itself
        events.publish(name, id=1)
    assert OutboxMessage.objects.count() == 0
