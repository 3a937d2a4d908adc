"""客服: the ticket queue (filters: status, assignee, mine, unassigned; search) and a
ticket's page (conversation, reply, assign, change status, the order it is about).

Reading needs `support.view_ticket`, acting `support.change_ticket` (merchant_console.roles
grants both to operations, customer service and admin). Actions are POSTs that redirect
back with a message; refusals come back as the domain's message."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.actors import ActorKind
from core.errors import DomainError
from merchant_console.access import staff_page
from merchant_console.support import staff_ticket_assign, staff_ticket_reply, staff_ticket_status
from storefront.support.errors import TicketNotFound
from storefront.support.models import BODY_MAX, AuthorKind, TicketStatus
from storefront.support.selectors import (
    staff_emails,
    support_staff,
    ticket_get,
    ticket_list,
    ticket_messages,
    ticket_next_statuses,
    ticket_status_counts,
)

VIEW, CHANGE = "support.view_ticket", "support.change_ticket"
PER_PAGE = 20
STATUS_TABS = ["", *TicketStatus.values]


def _assignee_filter(value: str, user) -> tuple[int | None, bool]:
    """(assignee id, unassigned) from the `assignee` parameter: `me`, `none` or an id."""
    if value == "me":
        return user.pk, False
    if value == "none":
        return None, True
    if value.isdigit() and len(value) < 10:
        return int(value), False
    return None, False


@require_GET
@staff_page(VIEW)
def tickets(request):
    status = request.GET.get("status", "")
    if status not in TicketStatus.values:
        status = ""
    assignee = request.GET.get("assignee", "")
    assignee_id, unassigned = _assignee_filter(assignee, request.user)
    q = request.GET.get("q", "").strip()[:50]
    queryset = ticket_list(status=status or None, assignee_id=assignee_id,
                           unassigned=unassigned, q=q)
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page)
    emails = staff_emails(user_ids=[t.assignee_id for t in rows])
    for ticket in rows:
        ticket.assignee_email = emails.get(ticket.assignee_id, "")
    counts = ticket_status_counts()
    labels = dict(TicketStatus.choices)
    keep = {k: v for k, v in (("assignee", assignee), ("q", q)) if v}
    base = reverse("console:tickets")
    tabs = [{
        "label": _(labels[key]) if key else _("All"),
        "count": counts[key] if key else sum(counts.values()),
        "url": f"{base}?{urlencode({**keep, 'status': key} if key else keep)}",
        "current": key == status,
    } for key in STATUS_TABS]
    pager_query = urlencode({k: v for k, v in (("status", status), ("assignee", assignee),
                                               ("q", q)) if v})
    return render(request, "console/support/tickets.html", {
        "page": page, "rows": rows, "tabs": tabs, "status": status, "assignee": assignee,
        "q": q, "staff": support_staff(), "pager_query": pager_query,
    })


def _ticket_or_404(number: str):
    try:
        return ticket_get(number=number)
    except TicketNotFound:
        raise Http404(_("Ticket not found.")) from None


@require_GET
@staff_page(VIEW)
def ticket(request, ticket_number: str):
    ticket = _ticket_or_404(ticket_number)
    conversation = ticket_messages(ticket=ticket)
    history = list(ticket.status_changes.all())
    emails = staff_emails(user_ids=[ticket.assignee_id] + [
        m.author_id for m in conversation if m.author_kind == AuthorKind.STAFF
    ] + [h.actor_id for h in history if h.actor_kind == "staff"])
    for message in conversation:
        message.author_label = (
            emails.get(message.author_id, _("Staff")) if message.author_kind == AuthorKind.STAFF
            else ticket.shopper.display_name
        )
    for change in history:
        change.actor_label = (emails.get(change.actor_id, "") if change.actor_kind == "staff"
                              else _(ActorKind(change.actor_kind).label))
    labels = dict(TicketStatus.choices)
    return render(request, "console/support/ticket.html", {
        "ticket": ticket, "conversation": conversation, "history": history,
        "assignee_email": emails.get(ticket.assignee_id, ""),
        "staff": support_staff() if request.user.has_perm(CHANGE) else [],
        "next_statuses": [(s, _(labels[s])) for s in ticket_next_statuses(ticket=ticket)],
        "can_change": request.user.has_perm(CHANGE), "body_max": BODY_MAX,
        "shopper_label": AuthorKind.SHOPPER,
    })


def _back(ticket_number: str):
    return redirect("console:ticket", ticket_number=ticket_number)


@require_POST
@staff_page(CHANGE)
def ticket_reply(request, ticket_number: str):
    ticket = _ticket_or_404(ticket_number)
    try:
        staff_ticket_reply(user=request.user, ticket=ticket, body=request.POST.get("body", ""))
    except DomainError as exc:
        messages.error(request, _(exc.message))
    else:
        messages.success(request, _("Reply sent."))
    return _back(ticket.number)


@require_POST
@staff_page(CHANGE)
def ticket_assign(request, ticket_number: str):
    ticket = _ticket_or_404(ticket_number)
    raw = (request.POST.get("assignee") or "").strip()
    if raw == "me":
        raw = str(request.user.pk)
    if raw and not (raw.isdigit() and len(raw) < 10):
        messages.error(request, _("Choose a member of staff who handles customer service."))
        return _back(ticket.number)
    try:
        staff_ticket_assign(user=request.user, ticket=ticket,
                            assignee_id=int(raw) if raw else None)
    except DomainError as exc:
        messages.error(request, _(exc.message))
    else:
        messages.success(request, _("Assignee saved.") if raw else _("Nobody is assigned now."))
    return _back(ticket.number)


@require_POST
@staff_page(CHANGE)
def ticket_status(request, ticket_number: str):
    ticket = _ticket_or_404(ticket_number)
    try:
        staff_ticket_status(user=request.user, ticket=ticket,
                            to_status=request.POST.get("status", ""),
                            reason=request.POST.get("reason", "").strip())
    except DomainError as exc:
        messages.error(request, _(exc.message))
    else:
        messages.success(request, _("Status changed."))
    return _back(ticket.number)
