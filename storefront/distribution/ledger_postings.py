"""What `ledger_check` expects the distribution engine to have posted (DESIGN §5).

The engine posts in its own services, inside the transaction of each change:

- `commission`/<order number>: Dr commission_expense, Cr each earner's payable (accrual);
- `commission_reversal`/case:<id>: Dr the earners' payables, Cr commission_expense;
- `statement`/<id>: Dr payable gross, Cr withdrawable net, Cr tax_withheld (approved);
- `withdrawal`/<out_bill_no>: Dr withdrawable, Cr payable to the WeChat user, Cr fees;
  the transfer's own `transfer` entry then pays the WeChat user's payable from clearing;
- `withdrawal_return`/<out_bill_no>: the reservation reversed (rejected or failed);
- `commission_share`/<order number>: the plan's per-order route: Dr the earners' payables,
  Cr what is owed to their WeChat accounts, which the profit share's own entry pays.

The expectations are built by the same functions from the rows, so the check compares the
ledger with what the rows say.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

from storefront.distribution import commissions, profit_share_route, settlement, withdrawals
from storefront.distribution.models import (
    Commission,
    CommissionReversal,
    Statement,
    StatementStatus,
    Withdrawal,
    WithdrawalStatus,
)
from storefront.ledger import checks


def expected_accruals() -> Iterable[checks.ExpectedEntry]:
    """One entry per order with commissions: keyed by the order's number."""
    rows = (Commission.objects.order_by("order_id", "pk")
            .values_list("order__number", "order_id", "distributor_id", "amount_fen")
            .iterator(chunk_size=5000))
    for (number, order_id), group in groupby(rows, key=lambda row: row[:2]):
        earned = [Commission(distributor_id=row[2], amount_fen=row[3]) for row in group]
        yield checks.ExpectedEntry(source_key=number, order_id=order_id,
                                   legs=commissions.accrual_legs(earned))


def expected_reversals() -> Iterable[checks.ExpectedEntry]:
    """One entry per refund that took commission back: keyed by its ledger key."""
    rows = (CommissionReversal.objects.order_by("ledger_key", "pk")
            .values_list("ledger_key", "commission__order_id", "distributor_id", "amount_fen")
            .iterator(chunk_size=5000))
    for (key, order_id), group in groupby(rows, key=lambda row: row[:2]):
        back = [CommissionReversal(distributor_id=row[2], amount_fen=row[3]) for row in group]
        yield checks.ExpectedEntry(source_key=key, order_id=order_id,
                                   legs=commissions.reversal_legs(back))


def expected_statements() -> Iterable[checks.ExpectedEntry]:
    approved = (Statement.objects.filter(status=StatementStatus.APPROVED)
                .exclude(gross_fen=0).iterator(chunk_size=5000))
    for statement in approved:
        yield checks.ExpectedEntry(source_key=str(statement.pk),
                                   legs=settlement.statement_legs(statement))


def expected_withdrawals() -> Iterable[checks.ExpectedEntry]:
    for withdrawal in Withdrawal.objects.iterator(chunk_size=2000):
        yield checks.ExpectedEntry(source_key=withdrawal.out_bill_no,
                                   legs=withdrawals.reserve_legs(withdrawal))


def expected_returns() -> Iterable[checks.ExpectedEntry]:
    returned = Withdrawal.objects.filter(
        status__in=(WithdrawalStatus.REJECTED, WithdrawalStatus.FAILED))
    for withdrawal in returned.iterator(chunk_size=2000):
        yield checks.ExpectedEntry(source_key=withdrawal.out_bill_no,
                                   legs=withdrawals.return_legs(withdrawal))


def register() -> None:
    checks.register_expectations("commission", expected_accruals)
    checks.register_expectations("commission_reversal", expected_reversals)
    checks.register_expectations("statement", expected_statements)
    checks.register_expectations("withdrawal", expected_withdrawals)
    checks.register_expectations("withdrawal_return", expected_returns)
    checks.register_expectations("commission_share", profit_share_route.expected_shares)
