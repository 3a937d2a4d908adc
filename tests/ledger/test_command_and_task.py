"""`manage.py ledger_check` over every mall, and the nightly task in one."""

import logging
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from control_plane.celery import app as celery_app
from storefront.ledger.checks import ExpectedEntry, register_expectations
from storefront.ledger.models import LedgerCheckRun
from storefront.ledger.services import entry_post
from storefront.ledger.tasks import ledger_check_nightly
from tests.ledger.conftest import sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def balanced_and_drifting(make_merchant):
    """Two malls: one whose ledger holds its two expected payments, one with an entry of
    a source nobody registered."""
    register_expectations("payment", lambda: (
        [ExpectedEntry("P1", sale(100), 1), ExpectedEntry("P2", sale(200), 2)]
        if connection.schema_name == good.schema_name else []
    ))
    good, bad = make_merchant().merchant, make_merchant().merchant
    connection.set_tenant(good)
    entry_post(source="payment", source_key="P1", order_id=1, legs=sale(100))
    entry_post(source="payment", source_key="P2", order_id=2, legs=sale(200))
    connection.set_tenant(bad)
    entry_post(source="mystery", source_key="M1", legs=sale(5))
    connection.set_schema_to_public()
    yield good, bad
    connection.set_schema_to_public()


def run(*args) -> tuple[str, int]:
    out = StringIO()
    try:
        call_command("ledger_check", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue() + f"!{exc}", exc.returncode
    return out.getvalue(), 0


def test_the_command_reports_every_mall_and_fails_on_drift(balanced_and_drifting):
    good, bad = balanced_and_drifting
    output, code = run()
    lines = {
        good.schema_name: f"{good.schema_name}: balanced (2 entries, 4 legs)\n",
        bad.schema_name: f"{bad.schema_name}: DRIFT\n"
                         "  - 1 entry of source 'mystery', which no app registered\n",
    }
    assert output == "".join(lines[name] for name in sorted(lines)) + "!1 of 2 mall(s) drift."
    assert code == 1


def test_counts_read_well(mall):
    assert run("--schema", mall.schema_name) == (
        f"{mall.schema_name}: balanced (0 entries, 0 legs)\n", 0
    )
    register_expectations("payment", lambda: [ExpectedEntry("P1", sale(100), 1)])
    entry_post(source="payment", source_key="P1", order_id=1, legs=sale(100))
    assert run("--schema", mall.schema_name) == (
        f"{mall.schema_name}: balanced (1 entry, 2 legs)\n", 0
    )


def test_the_command_checks_one_mall_when_asked(balanced_and_drifting):
    good, bad = balanced_and_drifting
    assert run("--schema", good.schema_name) == (
        f"{good.schema_name}: balanced (2 entries, 4 legs)\n", 0
    )
    output, code = run("--schema", bad.schema_name)
    assert (output.splitlines()[0], code) == (f"{bad.schema_name}: DRIFT", 1)
    assert run("--schema", "m_nobody") == ("!No mall has schema 'm_nobody'.", 2)
    assert run("--schema", "tenant_template") == ("!No mall has schema 'tenant_template'.", 2)


def test_the_nightly_task_stores_a_clean_run(balanced_and_drifting, caplog):
    good, _ = balanced_and_drifting
    connection.set_tenant(good)
    with caplog.at_level(logging.INFO, logger="storefront.ledger.tasks"):
        run_id = ledger_check_nightly()
    run = LedgerCheckRun.objects.get()
    assert (run.pk, run.ok, run.problems, run.figures) == (
        run_id, True, [], {"entries": 2, "legs": 4, "total": 0}
    )
    assert caplog.records == []


def test_the_nightly_task_logs_drift_as_an_error_naming_the_mall(balanced_and_drifting, caplog):
    _, bad = balanced_and_drifting
    connection.set_tenant(bad)
    with caplog.at_level(logging.INFO, logger="storefront.ledger.tasks"):
        ledger_check_nightly()
        ledger_check_nightly()  # safe to run twice: one more row, one more alert
    runs = list(LedgerCheckRun.objects.order_by("id"))
    assert [(r.ok, r.problems) for r in runs] == [
        (False, ["1 entry of source 'mystery', which no app registered"])
    ] * 2
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", f"ledger drift in schema {bad.schema_name} (run {run.pk}): "
                  "1 entry of source 'mystery', which no app registered")
        for run in runs
    ]


def test_the_nightly_check_is_scheduled_in_every_mall():
    entry = settings.CELERY_BEAT_SCHEDULE["ledger-check"]
    assert entry["task"] == ledger_check_nightly.name
    assert entry["task"] == "storefront.ledger.tasks.ledger_check_nightly"
    assert "tenant_schemas" not in entry
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({3}, {30})
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"
    assert ledger_check_nightly.name in celery_app.tasks
