"""The nightly ledger check, in every mall (tenant-schemas-celery runs it in the schema
the beat entry was sent to)."""

import logging

from celery import shared_task
from django.db import connection

from storefront.ledger.checks import ledger_check
from storefront.ledger.models import LedgerCheckRun

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def ledger_check_nightly() -> int:
    """Check the mall's ledger and keep the result; drift is logged at ERROR, which
    Sentry's logging integration turns into an alert tagged with the schema. Safe to run
    twice: each run only adds its own row. Returns the run's id."""
    report = ledger_check()
    run = LedgerCheckRun.objects.create(
        ok=report.ok, problems=report.problems, figures=report.figures
    )
    if not report.ok:
        logger.error(
            "ledger drift in schema %s (run %s): %s",
            connection.schema_name, run.pk, "; ".join(report.problems),
        )
    return run.pk
