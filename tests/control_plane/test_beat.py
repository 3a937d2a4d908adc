"""The beat scheduler sends public entries once, in public, and tenant entries per mall."""

import pytest
from celery.beat import ScheduleEntry

from control_plane.beat import PlatformScheduler
from control_plane.celery import app as celery_app

pytestmark = pytest.mark.django_db


class RecordingScheduler(PlatformScheduler):
    def __init__(self):
        self.app = celery_app
        self.sent = []

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        from django.db import connection

        self.sent.append((entry.task, connection.schema_name))

        class Result:
            id = "recorded"

        return Result()


def _entry(schemas=None):
    schedule = {"job": {"task": "tenants.tasks.refill_spare_schemas", "schedule": 60.0}}
    if schemas is not None:
        schedule["job"]["tenant_schemas"] = schemas
    scheduler = RecordingScheduler()
    (name, spec), = scheduler._tenant_aware_beat_schedule_to_dict(schedule).items()
    return scheduler, ScheduleEntry(name=name, app=celery_app, **spec)


def test_public_entry_is_sent_once_in_public(make_merchant):
    make_merchant()
    scheduler, entry = _entry(["public"])
    scheduler.apply_entry(entry)
    assert scheduler.sent == [("tenants.tasks.refill_spare_schemas", "public")]


def test_entry_without_schemas_goes_to_every_mall(make_merchant):
    alpha = make_merchant().merchant
    beta = make_merchant().merchant
    scheduler, entry = _entry()
    scheduler.apply_entry(entry)
    assert sorted(schema for _, schema in scheduler.sent) == sorted(
        [alpha.schema_name, beta.schema_name]
    )
