"""Stable error codes of customer-service tickets."""

from core.errors import Conflict, InvalidInput, NotFound


class TicketNotFound(NotFound):
    """A missing ticket and another shopper's ticket answer the same 404."""

    code = "ticket_not_found"
    default_message = "Ticket not found."


class TicketInvalid(InvalidInput):
    code = "ticket_invalid"


class TicketClosed(Conflict):
    code = "ticket_closed"
    default_message = "This ticket is closed; open a new one if you still need help."


class TicketLimitReached(Conflict):
    code = "ticket_limit_reached"


class IllegalTicketTransition(Conflict):
    code = "illegal_ticket_transition"
