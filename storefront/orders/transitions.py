"""The order and after-sales state machines: the allowed moves are data, and the
transition services here are the only places either status changes. Each locks the row,
refuses an illegal move with a 409 that changes nothing, stamps the time, writes the audit
row and publishes `order.<status>` / `after_sales.<status>` (core.state_machine)."""

from __future__ import annotations

from core.actors import Actor
from core.state_machine import StateMachine
from storefront.orders.errors import AfterSalesConflict, IllegalOrderTransition
from storefront.orders.models import (
    AfterSalesEvent,
    AfterSalesRequest,
    AfterSalesStatus,
    Order,
    OrderStatus,
    OrderStatusChange,
)

S = OrderStatus
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.SHIPPED, S.REFUNDED}),
    S.SHIPPED: frozenset({S.RECEIVED, S.REFUNDED}),
    S.RECEIVED: frozenset({S.COMPLETED, S.REFUNDED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}

ORDER_MACHINE = StateMachine(
    name="order",
    model=Order,
    history=OrderStatusChange,
    subject_field="order",
    moves=ALLOWED_TRANSITIONS,
    error=IllegalOrderTransition,
    timestamps={
        S.PAID: "paid_at",
        S.SHIPPED: "shipped_at",
        S.RECEIVED: "received_at",
        S.COMPLETED: "completed_at",
        S.CANCELLED: "cancelled_at",
    },
    event_data=lambda order: {"number": order.number, "shopper_id": order.shopper_id},
)

A = AfterSalesStatus
AFTER_SALES_TRANSITIONS: dict[str, frozenset[str]] = {
    A.REQUESTED: frozenset({A.APPROVED, A.REJECTED, A.WITHDRAWN}),
    # The refund failed (WeChat closed or refused it, or could not pay the shopper back):
    # the case goes back to staff with the reason.
    A.APPROVED: frozenset({A.REFUNDED, A.REFUND_FAILED}),
    # Staff retry (a new refund), or give up with a note; or WeChat completes an abnormal
    # refund after all.
    A.REFUND_FAILED: frozenset({A.APPROVED, A.REJECTED, A.REFUNDED}),
    A.REJECTED: frozenset(),
    A.REFUNDED: frozenset(),
    A.WITHDRAWN: frozenset(),
}

AFTER_SALES_MACHINE = StateMachine(
    name="after_sales",
    model=AfterSalesRequest,
    history=AfterSalesEvent,
    subject_field="case",
    moves=AFTER_SALES_TRANSITIONS,
    error=AfterSalesConflict,
    noun="after-sales case",
    timestamps={A.APPROVED: "decided_at", A.REJECTED: "decided_at", A.REFUNDED: "refunded_at"},
    event_data=lambda case: {"order_id": case.order_id, "refund_fen": case.refund_fen},
)


def order_transition(
    *,
    order_id: int,
    to_status: str,
    actor: Actor,
    reason: str = "",
    reference: str = "",
    changes: dict | None = None,
    expected_from: frozenset[str] | None = None,
) -> Order:
    """Move an order to `to_status`, applying `changes` (field → value) in the same save.

    `expected_from` narrows the legal sources for callers that mean one specific move
    (e.g. a shopper may cancel only an unpaid order).
    """
    return ORDER_MACHINE.transition(
        pk=order_id, to_status=to_status, actor=actor, reason=reason, reference=reference,
        changes=changes, expected_from=expected_from,
    )


def after_sales_transition(
    *,
    case_id: int,
    to_status: str,
    actor: Actor,
    reason: str = "",
    reference: str = "",
    changes: dict | None = None,
    expected_from: frozenset[str] | None = None,
) -> AfterSalesRequest:
    return AFTER_SALES_MACHINE.transition(
        pk=case_id, to_status=to_status, actor=actor, reason=reason, reference=reference,
        changes=changes, expected_from=expected_from,
    )
