"""Reads of customer service. Shoppers reach tickets only through `ticket_get_for_shopper`,
which answers the same 404 for a missing ticket and another shopper's."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet

from storefront.shoppers.models import Shopper
from storefront.support.errors import TicketNotFound
from storefront.support.models import Ticket, TicketMessage, TicketStatus
from storefront.support.services import staff_can_handle_tickets
from storefront.support.transitions import TICKET_MACHINE


def ticket_list_for_shopper(*, shopper: Shopper) -> QuerySet[Ticket]:
    return Ticket.objects.filter(shopper=shopper).select_related("order")


def ticket_get_for_shopper(*, shopper: Shopper, number: str) -> Ticket:
    ticket = (
        Ticket.objects.filter(shopper=shopper, number=str(number)[:20])
        .select_related("order").first()
    )
    if ticket is None:
        raise TicketNotFound()
    return ticket


def ticket_messages(*, ticket: Ticket) -> list[TicketMessage]:
    return list(ticket.messages.order_by("created_at", "id"))


def ticket_list(
    *, status: str | None = None, assignee_id: int | None = None, unassigned: bool = False,
    q: str | None = None,
) -> QuerySet[Ticket]:
    """Staff's queue, latest activity first; `q` matches the number, subject, the shopper's
    phone or nickname, or the order number."""
    tickets = Ticket.objects.select_related("shopper", "order")
    if status:
        tickets = tickets.filter(status=status)
    if unassigned:
        tickets = tickets.filter(assignee_id=None)
    elif assignee_id is not None:
        tickets = tickets.filter(assignee_id=assignee_id)
    q = (q or "").strip()
    if q:
        tickets = tickets.filter(
            Q(number__istartswith=q) | Q(subject__icontains=q) | Q(shopper__phone__contains=q)
            | Q(shopper__nickname__icontains=q) | Q(order__number__startswith=q)
        )
    return tickets


def ticket_get(*, number: str) -> Ticket:
    ticket = Ticket.objects.select_related("shopper", "order").filter(
        number=str(number)[:20]
    ).first()
    if ticket is None:
        raise TicketNotFound()
    return ticket


def ticket_status_counts() -> dict[str, int]:

    rows = Ticket.objects.order_by().values("status").annotate(n=Count("id"))
    counts = dict.fromkeys(TicketStatus.values, 0)
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def ticket_next_statuses(*, ticket: Ticket) -> list[str]:
    """Where staff may move this ticket from its current status."""
    return [s for s in TicketStatus.values if TICKET_MACHINE.can_move(ticket.status, s)]


def support_staff() -> list:
    """Active staff who may handle tickets (assignees), by e-mail, in one query."""
    User = get_user_model()
    return list(
        User.objects.filter(staff_can_handle_tickets()).distinct().order_by("email")
        .only("id", "email", "first_name")
    )


def staff_emails(*, user_ids) -> dict[int, str]:
    """{user id: e-mail} of the given users (assignees, authors of staff replies)."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    User = get_user_model()
    return dict(User.objects.filter(pk__in=ids).values_list("id", "email"))
