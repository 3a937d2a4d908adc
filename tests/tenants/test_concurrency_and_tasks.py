"""Tests that really commit: racing signups and a Celery worker in the right schema."""

import time
from collections import Counter
from functools import partial

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import connection

from control_plane.celery import app as celery_app
from tenants import services
from tenants.models import Merchant
from tests.conftest import OWNER_PASSWORD, ensure_default_plan
from tests.race import race

pytestmark = pytest.mark.usefixtures("committed_cleanup")


def test_two_concurrent_signups_for_one_slug_give_one_merchant():
    ensure_default_plan()

    result = race([
        partial(services.merchant_signup, name="Racer", slug="race-slug",
                owner_email=f"racer{i}@example.com", password=OWNER_PASSWORD)
        for i in range(2)
    ])

    assert result.peak == 2
    assert result.labels() == Counter({"ok": 1, "slug_taken": 1})
    assert Merchant.objects.filter(slug="race-slug").count() == 1


def test_a_task_queued_on_a_tenant_runs_in_that_tenants_schema():
    """Signup queues the owner's welcome email from inside the new mall's schema; the task
    finds the owner (user #1 in *every* schema) and the mall only if it runs there."""
    ensure_default_plan()
    celery_app.control.purge()
    mail.outbox.clear()
    services.merchant_signup(
        name="Alpha", slug="task-alpha", owner_email="a@example.com", password=OWNER_PASSWORD
    )
    services.merchant_signup(
        name="Beta", slug="task-beta", owner_email="b@example.com", password=OWNER_PASSWORD
    )
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        welcomes = _wait_for_outbox(lambda: [m for m in mail.outbox if "is ready" in m.subject])
    connection.set_schema_to_public()

    by_recipient = {tuple(message.to): message for message in welcomes}
    assert set(by_recipient) == {("a@example.com",), ("b@example.com",)}
    assert "Alpha" in by_recipient[("a@example.com",)].subject
    assert "http://task-alpha.localhost:8000/" in by_recipient[("a@example.com",)].body
    assert "Beta" in by_recipient[("b@example.com",)].subject
    assert "http://task-beta.localhost:8000/" in by_recipient[("b@example.com",)].body


def test_the_spare_pool_task_refills_through_the_worker():
    from tenants.models import SpareSchema
    from tenants.tasks import refill_spare_schemas

    celery_app.control.purge()
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        refill_spare_schemas.delay()
        _wait_for(lambda: SpareSchema.objects.count() >= 3)
    assert SpareSchema.objects.count() == 3


def _wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    return condition()


def _wait_for_outbox(select, count=2):
    _wait_for(lambda: len(select()) >= count)
    return select()


def test_a_second_refill_clones_while_the_first_is_still_cloning(settings):
    """A burst of signups drains the pool faster than one refiller clones: a refill that
    finds another one at work takes the next slot and clones beside it, and only when every
    slot is busy does it leave the work to the others."""
    import psycopg

    from tenants import provisioning
    from tenants.models import SpareSchema

    settings.TENANT_SPARE_REFILL_PARALLEL = 2
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        # another worker's refill, mid-clone, holds the first slot
        other.execute("SELECT pg_advisory_lock(%s, 0)", [provisioning._REFILL_LOCK_KEY])
        assert provisioning.refill_spare_pool(target=1) == 1
        assert SpareSchema.objects.count() == 1

        other.execute("SELECT pg_advisory_lock(%s, 1)", [provisioning._REFILL_LOCK_KEY])
        assert provisioning.refill_spare_pool(target=2) == 0  # every slot is busy
    assert SpareSchema.objects.count() == 1
    assert provisioning.refill_spare_pool(target=2) == 1  # both slots free again
