"""The order state machine: the allowed moves are data, and `order_transition` is the one
place an order's status changes — it locks the row, refuses illegal moves with a 409,
stamps the time, and writes the audit trail."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from storefront.orders.errors import IllegalOrderTransition
from storefront.orders.lock_objects import order_for_update
from storefront.orders.models import ActorType, Order, OrderStatus, OrderStatusChange

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
_TIMESTAMP_FIELD = {
    S.PAID: "paid_at",
    S.SHIPPED: "shipped_at",
    S.RECEIVED: "received_at",
    S.COMPLETED: "completed_at",
    S.CANCELLED: "cancelled_at",
}


def order_transition(
    *,
    order_id: int,
    to_status: str,
    actor_type: str = ActorType.SYSTEM,
    actor_id: int | None = None,
    note: str = "",
    changes: dict | None = None,
    expected_from: frozenset[str] | None = None,
) -> Order:
    """Move an order to `to_status`, applying `changes` (field → value) in the same save.

    `expected_from` narrows the legal sources for callers that mean one specific move
    (e.g. a shopper may cancel only an unpaid order).
    """
    with transaction.atomic():
        order = order_for_update(order_id)
        from_status = order.status
        legal = to_status in ALLOWED_TRANSITIONS[from_status]
        if legal and expected_from is not None:
            legal = from_status in expected_from
        if not legal:
            raise IllegalOrderTransition(
                f"An order that is {S(from_status).label.lower()} cannot become "
                f"{S(to_status).label.lower()}.",
                fields={"status": [from_status]},
            )
        fields = ["status"]
        order.status = to_status
        stamp = _TIMESTAMP_FIELD.get(to_status)
        if stamp:
            setattr(order, stamp, timezone.now())
            fields.append(stamp)
        for name, value in (changes or {}).items():
            setattr(order, name, value)
            fields.append(name)
        order.save(update_fields=fields)
        OrderStatusChange.objects.create(
            order=order, from_status=from_status, to_status=to_status,
            actor_type=actor_type, actor_id=actor_id, note=note[:200],
        )
    return order
