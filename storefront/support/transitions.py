"""The ticket's state machine: the allowed moves are data, and TICKET_MACHINE.transition is
the only place a ticket's status changes (it locks the row, refuses an illegal move with a
409, writes the history row and publishes `ticket.<status>`)."""

from __future__ import annotations

from core.state_machine import StateMachine
from storefront.support.errors import IllegalTicketTransition
from storefront.support.models import Ticket, TicketStatus, TicketStatusChange

S = TicketStatus
TICKET_TRANSITIONS: dict[str, frozenset[str]] = {
    # Staff answered and wait for the shopper; or they settle or close it outright.
    S.OPEN: frozenset({S.WAITING_SHOPPER, S.RESOLVED, S.CLOSED}),
    # The shopper's reply (or staff) puts it back in the queue.
    S.WAITING_SHOPPER: frozenset({S.OPEN, S.RESOLVED, S.CLOSED}),
    # A shopper writing again reopens it; staff may reopen or close it.
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    # Closed is final: a new question is a new ticket.
    S.CLOSED: frozenset(),
}

TICKET_MACHINE = StateMachine(
    name="ticket",
    model=Ticket,
    history=TicketStatusChange,
    subject_field="ticket",
    moves=TICKET_TRANSITIONS,
    error=IllegalTicketTransition,
    timestamps={S.RESOLVED: "resolved_at", S.CLOSED: "closed_at"},
    event_data=lambda ticket: {"number": ticket.number, "shopper_id": ticket.shopper_id},
)
