"""The shopper's customer-service pages: ask for help (optionally about an order), my
tickets, one ticket's conversation with a reply box.

Thin views over storefront.support; a shopper reaches only their own tickets (another
shopper's number is the same 404 as a missing one). Refusals re-render the page with the
message and the error's status, keeping what the shopper typed."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import DomainError
from storefront.orders.errors import OrderNotFound
from storefront.orders.models import Order
from storefront.support.errors import TicketNotFound
from storefront.support.models import BODY_MAX, SUBJECT_MAX, AuthorKind, TicketStatus
from storefront.support.selectors import (
    ticket_get_for_shopper,
    ticket_list_for_shopper,
    ticket_messages,
)
from storefront.support.services import ticket_open, ticket_reply_by_shopper
from storefront.web.orders_views import shopper_required

TICKETS_PER_PAGE = 10


def _ticket_or_404(request: HttpRequest, number: str):
    try:
        return ticket_get_for_shopper(shopper=request.shopper, number=number)
    except TicketNotFound:
        raise Http404(_("Ticket not found.")) from None


def _error_text(exc: DomainError) -> str:
    return _(exc.message)


@require_http_methods(["GET", "POST"])
@shopper_required
def help_page(request: HttpRequest) -> HttpResponse:
    """Open a ticket; `?order=<number>` (from an order's page) ties it to that order."""
    data = request.POST if request.method == "POST" else request.GET
    order_number = (data.get("order") or "").strip()
    order = None
    if order_number:
        order = Order.objects.filter(shopper=request.shopper, number=order_number[:32]).first()
        if order is None:
            raise Http404(_("Order not found."))
    form = {"subject": data.get("subject", ""), "body": data.get("body", "")}
    if order and not form["subject"] and request.method == "GET":
        form["subject"] = _("About order %(number)s") % {"number": order.number}
    error, status = "", 200
    if request.method == "POST":
        try:
            ticket = ticket_open(
                shopper=request.shopper, subject=form["subject"], body=form["body"],
                order_number=order.number if order else None,
            )
        except OrderNotFound:
            raise Http404(_("Order not found.")) from None
        except DomainError as exc:
            error, status = _error_text(exc), exc.status
        else:
            messages.success(request, _("Your question was sent. We will answer here soon."))
            return redirect("storefront:ticket", ticket_number=ticket.number)
    return render(request, "storefront/support/help.html", {
        "tab": "me", "order": order, "form": form, "error": error,
        "subject_max": SUBJECT_MAX, "body_max": BODY_MAX,
    }, status=status)


@require_http_methods(["GET"])
@shopper_required
def ticket_list_page(request: HttpRequest) -> HttpResponse:
    page = Paginator(ticket_list_for_shopper(shopper=request.shopper), TICKETS_PER_PAGE)
    return render(request, "storefront/support/ticket_list.html", {
        "tab": "me", "page": page.get_page(request.GET.get("page")),
    })


def _ticket_page(request, ticket, *, body: str = "", error: str = "", status: int = 200):
    return render(request, "storefront/support/ticket_detail.html", {
        "tab": "me", "ticket": ticket, "conversation": ticket_messages(ticket=ticket),
        "closed": ticket.status == TicketStatus.CLOSED, "body": body, "error": error,
        "body_max": BODY_MAX, "staff": AuthorKind.STAFF,
    }, status=status)


@require_http_methods(["GET"])
@shopper_required
def ticket_page(request: HttpRequest, ticket_number: str) -> HttpResponse:
    return _ticket_page(request, _ticket_or_404(request, ticket_number))


@require_POST
@shopper_required
def ticket_reply_view(request: HttpRequest, ticket_number: str) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_number)
    body = request.POST.get("body", "")
    try:
        ticket_reply_by_shopper(ticket_id=ticket.pk, shopper=request.shopper, body=body)
    except TicketNotFound:
        raise Http404(_("Ticket not found.")) from None
    except DomainError as exc:
        ticket.refresh_from_db()
        return _ticket_page(request, ticket, body=body, error=_error_text(exc),
                            status=exc.status)
    return redirect("storefront:ticket", ticket_number=ticket.number)
