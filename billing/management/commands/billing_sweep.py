"""Run the dunning sweep now (beat runs it every ten minutes): suspend malls past due for
longer than BILLING_GRACE_DAYS, move ended trials without a subscription to past due, send
trial reminders. `--days-ahead N` sweeps as if N days had passed: to see on `make run`
what the grace period will do, without waiting a week."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand
from django.utils import timezone

from billing.dunning import dunning_sweep


class Command(BaseCommand):
    help = "Suspend overdue malls, end unpaid trials and send trial reminders now."

    def add_arguments(self, parser):
        parser.add_argument("--days-ahead", type=float, default=0.0,
                            help="Sweep as if this many days had passed.")

    def handle(self, *args, days_ahead: float, **options):
        result = dunning_sweep(now=timezone.now() + dt.timedelta(days=days_ahead))
        self.stdout.write(
            f"suspended: {', '.join(result.suspended) or '-'}; "
            f"trials ended: {', '.join(result.trials_ended) or '-'}; "
            f"reminded: {', '.join(result.reminded) or '-'}"
        )
