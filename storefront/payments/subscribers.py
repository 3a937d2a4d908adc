"""What the payments app does when the orders app reports something."""

from __future__ import annotations

from core import events, outbox


@events.subscriber("order.created")
def time_the_pay_deadline(event: events.DomainEvent) -> None:
    """At the pay deadline, close the order's WeChat transactions and cancel it. Sent after
    the commit without an outbox row: the per-minute `cancel_overdue_orders` sweep does the
    same work for any timer the broker dropped, so nothing is lost and checkout saves a
    write and a commit."""
    order = event.subject
    outbox.send_after_commit(
        "storefront.payments.tasks.cancel_unpaid_order", args=[order.pk],
        eta=order.pay_deadline,
    )
