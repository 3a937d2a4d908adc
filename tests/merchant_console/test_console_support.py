"""客服 in the console and the staff API: who may open and act (the same permissions on
both), what the pages show for their cost in queries, the actions' effects and audit rows,
and refusals that change nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import schema_context

from merchant_console.models import AuditEntry
from merchant_console.roles import role_group
from storefront.support.models import Ticket, TicketMessage, TicketStatus
from storefront.support.services import ticket_assign, ticket_open
from tests.conftest import host_client
from tests.factories.shoppers import ShopperFactory
from tests.support.conftest import alice, bob, place_order  # noqa: F401

pytestmark = pytest.mark.django_db

ROLES = {"owner": True, "admin": True, "operations": True, "customer_service": True,
         "finance": False}


@pytest.fixture
def ticket(alice, place_order):  # noqa: F811
    order = place_order(alice)
    return ticket_open(shopper=alice, subject="Broken cup", body="It arrived broken.",
                       order_number=order.number)


def pages(number: str) -> list[str]:
    return ["/console/service/", f"/console/service/tickets/{number}/"]


def actions(number: str) -> list[tuple[str, dict]]:
    return [
        (f"/console/service/tickets/{number}/reply/", {"body": "We will send a new one."}),
        (f"/console/service/tickets/{number}/assign/", {"assignee": "me"}),
        (f"/console/service/tickets/{number}/status/", {"status": "resolved"}),
    ]


def api_reads(number: str) -> list[str]:
    return ["/api/v1/console/tickets/", f"/api/v1/console/tickets/{number}/"]


def api_actions(number: str, user_id: int) -> list[tuple[str, dict]]:
    return [
        (f"/api/v1/console/tickets/{number}/reply/", {"body": "Sent a new one."}),
        (f"/api/v1/console/tickets/{number}/assign/", {"assignee_id": user_id}),
        (f"/api/v1/console/tickets/{number}/status/", {"status": "resolved"}),
    ]


def _unchanged(ticket) -> None:
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.status, fresh.assignee_id) == (TicketStatus.OPEN, None)
    assert TicketMessage.objects.filter(ticket=ticket).count() == 1
    assert not AuditEntry.objects.filter(area="service").exists()


# ------------------------------------------------------------------ who may


def test_anonymous_visitors_are_sent_to_sign_in_and_refused_by_the_api(mall_client, ticket):
    for path in pages(ticket.number):
        response = mall_client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/console/login/")
    for path, data in actions(ticket.number):
        response = mall_client.post(path, data)
        assert response.status_code == 302 and response["Location"].startswith("/console/login/")
    for path in api_reads(ticket.number):
        assert mall_client.get(path).status_code == 403
    for path, data in api_actions(ticket.number, 1):
        assert mall_client.post(path, data, content_type="application/json").status_code == 403
    _unchanged(ticket)


def test_a_signed_in_shopper_is_nobody_in_the_console(mall_client, ticket, alice):  # noqa: F811
    from tests.support.conftest import sign_in

    sign_in(mall_client, alice)
    assert mall_client.get("/console/service/").status_code == 302
    assert mall_client.get("/api/v1/console/tickets/").status_code == 403


@pytest.mark.parametrize(("role", "allowed"), ROLES.items())
def test_each_role_sees_the_pages_as_its_permissions_say(staff_client, ticket, role, allowed):
    client = staff_client(role)
    expected = 200 if allowed else 403
    for path in pages(ticket.number):
        assert client.get(path).status_code == expected, path
    for path in api_reads(ticket.number):
        assert client.get(path).status_code == expected, path


@pytest.mark.parametrize(("role", "allowed"), ROLES.items())
def test_each_role_acts_as_its_permissions_say(staff_client, ticket, role, allowed):
    client = staff_client(role)
    for path, data in actions(ticket.number):
        response = client.post(path, data)
        assert response.status_code == (302 if allowed else 403), path
    if not allowed:
        for path, data in api_actions(ticket.number, client.user.pk):
            response = client.post(path, data, content_type="application/json")
            assert response.status_code == 403, path
        _unchanged(ticket)
        return
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.assignee_id == client.user.pk
    assert [a.action for a in AuditEntry.objects.filter(area="service").order_by("id")] == [
        "ticket.reply", "ticket.assign", "ticket.status"]


def test_finance_sees_no_customer_service_in_the_navigation(staff_client, ticket):
    finance = staff_client("finance").get("/console/").content.decode()
    service = staff_client("customer_service").get("/console/").content.decode()
    assert 'data-area="service"' not in finance
    assert 'data-area="service"' in service


def test_staff_of_another_mall_are_nobody_here(other_mall, mall, ticket):
    other = host_client(other_mall)
    with schema_context(other_mall.schema_name):
        user = get_user_model().objects.create_user(
            username="cs@other.test", email="cs@other.test", password="x-Other-2345",
            is_staff=True)
        user.groups.set([role_group("customer_service")])
        other.force_login(user)
        assert other.get("/console/service/").status_code == 200
    connection.set_tenant(mall)
    client = host_client(mall)
    client.cookies["sessionid"] = other.cookies["sessionid"].value
    for path in pages(ticket.number):
        assert client.get(path).status_code == 302
    for path, data in actions(ticket.number):
        assert client.post(path, data).status_code == 302
    for path in api_reads(ticket.number):
        assert client.get(path).status_code == 403
    for path, data in api_actions(ticket.number, user.pk):
        assert client.post(path, data, content_type="application/json").status_code == 403
    _unchanged(ticket)


# ------------------------------------------------------------------ pages


def _many_tickets(staff_user, place_order, count=6):  # noqa: F811
    tickets = []
    for n in range(count):
        shopper = ShopperFactory()
        order = place_order(shopper) if n % 2 else None
        ticket = ticket_open(shopper=shopper, subject=f"Question {n}", body=f"Body {n}",
                             order_number=order.number if order else None)
        if n % 3 == 0:
            ticket_assign(ticket_id=ticket.pk, staff_user_id=staff_user.pk,
                          assignee_id=staff_user.pk)
        tickets.append(ticket)
    return tickets


@pytest.mark.parametrize("role", ["customer_service", "operations", "admin", "owner"])
def test_the_queue_costs_the_same_whatever_the_number_of_rows(
    staff_client, place_order, role, django_assert_num_queries,  # noqa: F811
):
    client = staff_client(role)
    tickets = _many_tickets(client.user, place_order)
    client.get("/console/service/")  # warm the session's permission cache
    with django_assert_num_queries(QUEUE_QUERIES[role]):
        response = client.get("/console/service/")
    assert response.status_code == 200
    html = response.content.decode()
    for ticket in tickets:
        assert ticket.number in html
    assert client.user.email in html  # the assignee's column
    _many_tickets(client.user, place_order, count=4)
    with django_assert_num_queries(QUEUE_QUERIES[role]):
        client.get("/console/service/")


@pytest.mark.parametrize("role", ["customer_service", "owner"])
def test_a_ticket_page_costs_the_same_whatever_the_length_of_the_conversation(
    staff_client, ticket, alice, role, django_assert_num_queries,  # noqa: F811
):
    from storefront.support.services import ticket_reply_by_shopper, ticket_reply_by_staff

    client = staff_client(role)
    ticket_reply_by_staff(ticket_id=ticket.pk, staff_user_id=client.user.pk, body="First")
    path = f"/console/service/tickets/{ticket.number}/"
    client.get(path)
    with django_assert_num_queries(TICKET_QUERIES[role]):
        response = client.get(path)
    assert "It arrived broken." in response.content.decode()
    for n in range(3):
        ticket_reply_by_staff(ticket_id=ticket.pk, staff_user_id=client.user.pk, body=f"S{n}")
        ticket_reply_by_shopper(ticket_id=ticket.pk, shopper=alice, body=f"A{n}")
    with django_assert_num_queries(TICKET_QUERIES[role]):
        response = client.get(path)
    html = response.content.decode()
    assert "S2" in html and "A2" in html and ticket.order.number in html


# Routing 3 (public search path, domain, mall search path), session, user, then for staff
# other than the owner their permissions 2 and role 1; the queue: count, page, assignees'
# e-mails, status counts, assignable staff; the ticket: ticket with shopper and order,
# messages, history, e-mails, assignable staff; the layout's plan.
QUEUE_QUERIES = {"customer_service": 14, "operations": 14, "admin": 14, "owner": 11}
TICKET_QUERIES = {"customer_service": 14, "owner": 11}


def test_queue_filters_and_search(staff_client, alice, bob, place_order):  # noqa: F811
    client = staff_client("customer_service")
    mine = ticket_open(shopper=alice, subject="Broken cup", body="B")
    order = place_order(bob)
    other = ticket_open(shopper=bob, subject="Late parcel", body="B", order_number=order.number)
    ticket_assign(ticket_id=mine.pk, staff_user_id=client.user.pk, assignee_id=client.user.pk)
    client.post(f"/console/service/tickets/{other.number}/status/", {"status": "resolved"})

    def numbers(query: str) -> set[str]:
        html = client.get(f"/console/service/{query}").content.decode()
        return {t.number for t in (mine, other) if f'data-number="{t.number}"' in html}

    assert numbers("") == {mine.number, other.number}
    assert numbers("?assignee=me") == {mine.number}
    assert numbers("?assignee=none") == {other.number}
    assert numbers(f"?assignee={client.user.pk}") == {mine.number}
    assert numbers("?status=resolved") == {other.number}
    assert numbers("?status=open") == {mine.number}
    assert numbers("?q=cup") == {mine.number}
    assert numbers(f"?q={order.number}") == {other.number}
    assert numbers("?q=13900000002") == {other.number}
    assert numbers("?status=nonsense&assignee=x&page=abc") == {mine.number, other.number}

    api = client.get("/api/v1/console/tickets/?assignee=me").json()
    assert [t["number"] for t in api["results"]] == [mine.number]
    api = client.get(f"/api/v1/console/tickets/?q={order.number}").json()
    assert [t["number"] for t in api["results"]] == [other.number]
    assert api["results"][0]["order_number"] == order.number
    assert client.get("/api/v1/console/tickets/?status=lost").status_code == 400
    assert client.get("/api/v1/console/tickets/?assignee=x").status_code == 400


def test_the_ticket_page_links_the_order_and_offers_the_allowed_moves(staff_client, ticket):
    client = staff_client("customer_service")
    html = client.get(f"/console/service/tickets/{ticket.number}/").content.decode()
    assert ticket.order.number in html and 'id="ticket-order"' in html
    assert 'value="waiting_shopper"' in html and 'value="closed"' in html
    assert 'value="open"' not in html  # it is open already
    assert client.user.email in html  # an assignable member


def test_an_unknown_ticket_is_a_404_everywhere(staff_client, ticket):
    client = staff_client("customer_service")
    assert client.get("/console/service/tickets/T999/").status_code == 404
    assert client.post("/console/service/tickets/T999/reply/", {"body": "x"}).status_code == 404
    assert client.get("/api/v1/console/tickets/T999/").status_code == 404
    response = client.post("/api/v1/console/tickets/T999/reply/", {"body": "x"},
                           content_type="application/json")
    assert response.status_code == 404 and response.json()["code"] == "ticket_not_found"


# ------------------------------------------------------------------ actions


def test_a_reply_from_the_console_reaches_the_conversation_with_its_audit_row(
    staff_client, ticket,
):
    client = staff_client("customer_service")
    response = client.post(f"/console/service/tickets/{ticket.number}/reply/",
                           {"body": "  A new cup is on its way.  "})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "Reply sent." in [str(m) for m in page.context["messages"]]
    reply = TicketMessage.objects.get(ticket=ticket, author_kind="staff")
    assert (reply.body, reply.author_id) == ("A new cup is on its way.", client.user.pk)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING_SHOPPER
    entry = AuditEntry.objects.get(area="service")
    assert (entry.action, entry.target, entry.actor_id) == (
        "ticket.reply", ticket.number, client.user.pk)
    assert entry.detail["message_id"] == reply.pk


@pytest.mark.parametrize(("body", "message"), [
    ("", "Write a message."),
    ("   ", "Write a message."),
    ("x" * 2001, "A message has at most 2000 characters."),
])
def test_a_bad_reply_changes_nothing(staff_client, ticket, body, message):
    client = staff_client("customer_service")
    response = client.post(f"/console/service/tickets/{ticket.number}/reply/", {"body": body},
                           HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert message in [str(m) for m in page.context["messages"]]
    api = client.post(f"/api/v1/console/tickets/{ticket.number}/reply/", {"body": body},
                      content_type="application/json")
    assert api.status_code == 400 and "body" in api.json()["fields"]
    _unchanged(ticket)


def test_a_closed_ticket_refuses_replies_and_moves(staff_client, ticket):
    client = staff_client("customer_service")
    client.post(f"/console/service/tickets/{ticket.number}/status/", {"status": "closed"})
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED and ticket.closed_at
    html = client.get(f"/console/service/tickets/{ticket.number}/").content.decode()
    assert 'id="reply-form"' not in html and 'id="ticket-closed"' in html
    for path, data in api_actions(ticket.number, client.user.pk):
        data = {"status": "open"} if path.endswith("status/") else data
        response = client.post(path, data, content_type="application/json")
        assert response.status_code == 409, path
    assert TicketMessage.objects.filter(ticket=ticket).count() == 1
    assert AuditEntry.objects.filter(area="service").count() == 1  # the closing only


def test_assign_and_status_refusals(staff_client, ticket):
    client = staff_client("customer_service")
    finance = staff_client("finance").user
    base = f"/api/v1/console/tickets/{ticket.number}"
    for body in ({"assignee_id": finance.pk}, {"assignee_id": 10**6}):
        response = client.post(f"{base}/assign/", body, content_type="application/json")
        assert response.status_code == 400 and "assignee" in response.json()["fields"]
    for body in ({"assignee_id": "x"}, {}):
        response = client.post(f"{base}/assign/", body, content_type="application/json")
        assert response.status_code == 400
    response = client.post(f"{base}/status/", {"status": "lost"}, content_type="application/json")
    assert response.status_code == 400
    page = client.post(f"/console/service/tickets/{ticket.number}/assign/",
                       {"assignee": "nobody"})
    assert page.status_code == 302
    page = client.post(f"/console/service/tickets/{ticket.number}/status/", {"status": "open"})
    assert page.status_code == 302  # open → open is refused with a message
    _unchanged(ticket)


def test_the_api_does_what_the_pages_do(staff_client, ticket):
    client = staff_client("customer_service")
    base = f"/api/v1/console/tickets/{ticket.number}"
    detail = client.post(f"{base}/reply/", {"body": "On its way"},
                         content_type="application/json").json()
    assert detail["status"] == "waiting_shopper"
    assert [m["author_kind"] for m in detail["messages"]] == ["shopper", "staff"]
    assert detail["messages"][1]["wechat_delivery"] == "pending"
    detail = client.post(f"{base}/assign/", {"assignee_id": client.user.pk},
                         content_type="application/json").json()
    assert detail["assignee_id"] == client.user.pk
    detail = client.post(f"{base}/status/", {"status": "resolved", "reason": "sent"},
                         content_type="application/json").json()
    assert detail["status"] == "resolved" and detail["next_statuses"] == ["open", "closed"]
    assert [t["to_status"] for t in detail["timeline"]] == ["open", "waiting_shopper", "resolved"]
    detail = client.post(f"{base}/assign/", {"assignee_id": None},
                         content_type="application/json").json()
    assert detail["assignee_id"] is None
    assert [a.action for a in AuditEntry.objects.filter(area="service").order_by("id")] == [
        "ticket.reply", "ticket.assign", "ticket.status", "ticket.assign"]
    assert AuditEntry.objects.filter(action="ticket.status").get().detail == {
        "from": "waiting_shopper", "to": "resolved", "reason": "sent"}
