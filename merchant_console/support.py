"""Staff actions on tickets, each with its audit row in the action's own transaction; the
pages and the staff API both call these, so both leave the same trail."""

from __future__ import annotations

from django.db import transaction

from merchant_console.audit import audit_record
from storefront.support.models import Ticket, TicketMessage
from storefront.support.services import (
    ticket_assign,
    ticket_reply_by_staff,
    ticket_status_set,
)

AREA = "service"


def staff_ticket_reply(*, user, ticket: Ticket, body: str) -> TicketMessage:
    with transaction.atomic():
        message = ticket_reply_by_staff(ticket_id=ticket.pk, staff_user_id=user.pk, body=body)
        audit_record(actor=user, area=AREA, action="ticket.reply", target=ticket.number,
                     detail={"message_id": message.pk, "chars": len(message.body)})
    return message


def staff_ticket_assign(*, user, ticket: Ticket, assignee_id: int | None) -> Ticket:
    with transaction.atomic():
        before = ticket.assignee_id
        ticket = ticket_assign(ticket_id=ticket.pk, staff_user_id=user.pk,
                               assignee_id=assignee_id)
        audit_record(actor=user, area=AREA, action="ticket.assign", target=ticket.number,
                     detail={"from": before, "to": assignee_id})
    return ticket


def staff_ticket_status(*, user, ticket: Ticket, to_status: str, reason: str = "") -> Ticket:
    with transaction.atomic():
        before = ticket.status
        ticket = ticket_status_set(ticket_id=ticket.pk, staff_user_id=user.pk,
                                   to_status=to_status, reason=reason)
        audit_record(actor=user, area=AREA, action="ticket.status", target=ticket.number,
                     detail={"from": before, "to": to_status, "reason": reason})
    return ticket
