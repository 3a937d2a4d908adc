"""The distribution engine's beat tasks: scheduled as the issue asks, each safe to run twice."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings

from control_plane.celery import app as celery_app
from storefront.distribution import services, tasks
from storefront.distribution.commissions import SHANGHAI
from storefront.distribution.models import Commission, ComplianceAlert, Statement
from storefront.orders.services import order_confirm_receipt, order_ship
from tests.distribution.conftest import make_chain, make_shopper, pay, place

SCHEDULE = settings.CELERY_BEAT_SCHEDULE


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.parametrize(("entry", "task"), [
    ("distribution-release-commissions", "release_commissions"),
    ("distribution-monthly-statements", "generate_monthly_statements"),
    ("distribution-promote", "promote_all"),
    ("distribution-review-levels", "review_levels_monthly"),
    ("distribution-compliance-monitor", "compliance_monitor_nightly"),
])
def test_each_task_is_scheduled_in_every_mall(entry, task):
    name = f"storefront.distribution.tasks.{task}"
    assert SCHEDULE[entry]["task"] == name
    assert "tenant_schemas" not in SCHEDULE[entry]  # every mall's schema
    assert name in celery_app.tasks


def test_the_schedule_times_in_asia_shanghai():
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"
    assert SCHEDULE["distribution-release-commissions"]["schedule"] == 60.0
    statements = SCHEDULE["distribution-monthly-statements"]["schedule"]
    assert isinstance(statements, crontab)
    assert (statements.day_of_month, statements.hour, statements.minute) == (
        {1, 2, 3, 4, 5}, {2}, {0})
    review = SCHEDULE["distribution-review-levels"]["schedule"]
    assert (review.day_of_month, review.hour) == ({1}, {1})
    for nightly in ("distribution-promote", "distribution-compliance-monitor"):
        schedule = SCHEDULE[nightly]["schedule"]
        assert len(schedule.hour) == 1 and len(schedule.day_of_month) == 31


@pytest.mark.django_db
def test_release_and_statements_run_twice_settle_once(rules, plan, sku):
    rules.commission_hold_days = 1
    rules.statement_review_from_fen = 10**9
    rules.save()
    (distributor,) = make_chain(1)
    buyer = make_shopper()
    with time_machine.travel(at(2026, 10, 10, 12), tick=False):
        order = pay(place(buyer, (sku, 1), referrer=distributor))
        order_ship(order=order, staff_user_id=1, carrier="SF", tracking_number="SF1")
        order_confirm_receipt(order=order, shopper=buyer)

    with time_machine.travel(at(2026, 10, 12), tick=False):
        assert tasks.release_commissions() == {"released": 1, "statements": 0}
        assert tasks.release_commissions() == {"released": 0, "statements": 0}
    with time_machine.travel(at(2026, 11, 1, 2), tick=False):
        first = tasks.generate_monthly_statements()
        second = tasks.generate_monthly_statements()
    assert first == {"month": "2026-10-01", "statements": 1, "entries": 1, "in_review": 0}
    assert second == {"month": "2026-10-01", "statements": 0, "entries": 0, "in_review": 0}
    assert Statement.objects.get().gross_fen == 990
    assert Commission.objects.get().status == "settled"


@pytest.mark.django_db
def test_the_compliance_monitor_twice_adds_nothing(rules):
    (top,) = make_chain(1)
    for _ in range(21):
        services.distributor_join(shopper=make_shopper(), invite_code=top.invite_code)
    with time_machine.travel(dt.datetime.now(tz=SHANGHAI) + dt.timedelta(minutes=5)):
        assert tasks.compliance_monitor_nightly() == {"recruitment_burst": 1}
        assert tasks.compliance_monitor_nightly() == {}
    assert ComplianceAlert.objects.count() == 1
