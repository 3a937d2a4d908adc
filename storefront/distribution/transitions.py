"""The distribution engine's state machines (DESIGN §5): distributor, commission, monthly
statement and withdrawal. The transition services here are the only places their statuses
change; each move writes an append-only history row and publishes `<machine>.<status>`."""

from __future__ import annotations

from django.db import connection

from core.state_machine import StateMachine
from storefront.distribution.errors import IllegalDistributionTransition
from storefront.distribution.models import (
    Commission,
    CommissionEvent,
    CommissionStatus,
    Distributor,
    DistributorEvent,
    DistributorStatus,
    Statement,
    StatementEvent,
    StatementStatus,
    Withdrawal,
    WithdrawalEvent,
    WithdrawalStatus,
)

D = DistributorStatus
DISTRIBUTOR_MACHINE = StateMachine(
    name="distributor",
    model=Distributor,
    history=DistributorEvent,
    subject_field="distributor",
    moves={
        D.PENDING: frozenset({D.ACTIVE, D.CLEARED}),
        D.ACTIVE: frozenset({D.FROZEN, D.CLEARED}),
        D.FROZEN: frozenset({D.ACTIVE, D.CLEARED}),
        D.CLEARED: frozenset(),
    },
    error=IllegalDistributionTransition,
    timestamps={D.ACTIVE: "activated_at", D.FROZEN: "frozen_at", D.CLEARED: "cleared_at"},
    event_data=lambda d: {"shopper_id": d.shopper_id},
)

C = CommissionStatus
COMMISSION_MACHINE = StateMachine(
    name="commission",
    model=Commission,
    history=CommissionEvent,
    subject_field="commission",
    moves={
        C.PENDING: frozenset({C.FROZEN, C.AVAILABLE, C.REVERSED}),
        C.FROZEN: frozenset({C.AVAILABLE, C.REVERSED}),
        C.AVAILABLE: frozenset({C.SETTLED, C.REVERSED}),
        C.SETTLED: frozenset({C.REVERSED}),
        C.REVERSED: frozenset(),
    },
    error=IllegalDistributionTransition,
    timestamps={C.FROZEN: "frozen_at", C.AVAILABLE: "available_at", C.SETTLED: "settled_at",
                C.REVERSED: "reversed_at"},
    event_data=lambda c: {"distributor_id": c.distributor_id, "order_id": c.order_id},
)

S = StatementStatus
STATEMENT_MACHINE = StateMachine(
    name="statement",
    model=Statement,
    history=StatementEvent,
    subject_field="statement",
    moves={
        S.IN_REVIEW: frozenset({S.APPROVED, S.HELD}),
        S.HELD: frozenset({S.APPROVED}),
        S.APPROVED: frozenset(),
    },
    error=IllegalDistributionTransition,
    timestamps={S.APPROVED: "approved_at"},
    event_data=lambda s: {"distributor_id": s.distributor_id},
)

W = WithdrawalStatus
WITHDRAWAL_MACHINE = StateMachine(
    name="withdrawal",
    model=Withdrawal,
    history=WithdrawalEvent,
    subject_field="withdrawal",
    moves={
        W.REVIEWING: frozenset({W.TRANSFERRING, W.REJECTED}),
        W.TRANSFERRING: frozenset({W.SUCCEEDED, W.FAILED}),
        W.SUCCEEDED: frozenset(),
        W.REJECTED: frozenset(),
        W.FAILED: frozenset(),
    },
    error=IllegalDistributionTransition,
    timestamps={W.TRANSFERRING: "decided_at", W.REJECTED: "decided_at",
                W.SUCCEEDED: "finished_at", W.FAILED: "finished_at"},
    event_data=lambda w: {"distributor_id": w.distributor_id, "out_bill_no": w.out_bill_no},
)


def bulk_move_commissions(*, from_status: str, to_status: str, where: str, params: list,
                          reason: str, now) -> int:
    """The set-based form of COMMISSION_MACHINE.transition for the settlement jobs: one
    UPDATE moves every commission in `from_status` matching `where` (SQL on alias `c`)
    and the same statement writes each one's history row. No per-row event is published
    (nothing subscribes to these moves; the history is the audit)."""
    if not COMMISSION_MACHINE.can_move(from_status, to_status):
        raise IllegalDistributionTransition(f"Commissions cannot move {from_status} → "
                                            f"{to_status}.")
    stamp = COMMISSION_MACHINE.timestamps[to_status]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH moved AS (
                    UPDATE distribution_commission c SET status = %s, {stamp} = %s
                    WHERE c.status = %s AND {where}
                    RETURNING c.id)
                INSERT INTO distribution_commissionevent
                    (commission_id, from_status, to_status, actor_kind, actor_id, reason,
                     reference, created_at)
                SELECT id, %s, %s, 'system', NULL, %s, '', %s FROM moved""",
            [to_status, now, from_status, *params, from_status, to_status, reason[:200], now],
        )
        return cursor.rowcount
