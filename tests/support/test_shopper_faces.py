"""The shopper's customer-service pages and API: ask (about an order or not), list, read,
reply; only ever one's own tickets; bad input answered clearly with nothing done."""

from __future__ import annotations

import pytest

from storefront.support.models import BODY_MAX, Ticket, TicketMessage, TicketStatus
from storefront.support.services import ticket_open, ticket_reply_by_staff, ticket_status_set

pytestmark = pytest.mark.django_db


def _messages(client, response) -> list[str]:
    assert response.status_code == 302, response.status_code
    return [str(m) for m in client.get(response["Location"]).context["messages"]]


# ------------------------------------------------------------------ pages


def test_signed_out_visitors_are_sent_to_sign_in(mall_client, alice):
    ticket = ticket_open(shopper=alice, subject="S", body="B")
    for path in ("/help/", "/help/tickets/", f"/help/tickets/{ticket.number}/"):
        response = mall_client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    response = mall_client.post(f"/help/tickets/{ticket.number}/reply/", {"body": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert ticket.messages.count() == 1


def test_a_shopper_asks_from_an_order_page_and_reads_the_answer(
    alice_client, alice, staff_client, place_order,
):
    order = place_order(alice)
    order_page = alice_client.get(f"/orders/{order.number}/").content.decode()
    assert f'href="/help/?order={order.number}"' in order_page

    form = alice_client.get(f"/help/?order={order.number}").content.decode()
    assert f'value="{order.number}"' in form and f"About order {order.number}" in form
    response = alice_client.post("/help/", {"order": order.number, "subject": "Broken",
                                            "body": "The cup arrived broken."})
    ticket = Ticket.objects.get()
    assert response["Location"] == f"/help/tickets/{ticket.number}/"
    assert _messages(alice_client, response) == [
        "Your question was sent. We will answer here soon."]
    assert (ticket.shopper_id, ticket.order_id, ticket.subject) == (alice.pk, order.pk, "Broken")

    staff = staff_client("customer_service").user
    ticket_reply_by_staff(ticket_id=ticket.pk, staff_user_id=staff.pk, body="A new one is sent.")
    page = alice_client.get(f"/help/tickets/{ticket.number}/").content.decode()
    assert "The cup arrived broken." in page and "A new one is sent." in page
    assert 'data-author="staff"' in page and 'id="reply-form"' in page
    listing = alice_client.get("/help/tickets/").content.decode()
    assert ticket.number in listing and "New reply" in listing

    response = alice_client.post(f"/help/tickets/{ticket.number}/reply/", {"body": "Thanks!"})
    assert response["Location"] == f"/help/tickets/{ticket.number}/"
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert list(ticket.messages.values_list("author_kind", flat=True)) == [
        "shopper", "staff", "shopper"]


def test_the_me_page_leads_to_customer_service(alice_client):
    assert 'href="/help/tickets/"' in alice_client.get("/me/").content.decode()


def test_a_shopper_never_sees_another_shoppers_ticket(alice_client, bob, place_order):
    theirs = ticket_open(shopper=bob, subject="Private", body="My address is secret")
    bobs_order = place_order(bob)
    assert alice_client.get(f"/help/tickets/{theirs.number}/").status_code == 404
    assert alice_client.post(f"/help/tickets/{theirs.number}/reply/",
                             {"body": "hi"}).status_code == 404
    assert alice_client.get(f"/help/?order={bobs_order.number}").status_code == 404
    assert alice_client.post("/help/", {"order": bobs_order.number, "subject": "S",
                                        "body": "B"}).status_code == 404
    assert "Private" not in alice_client.get("/help/tickets/").content.decode()
    assert theirs.messages.count() == 1 and Ticket.objects.count() == 1


@pytest.mark.parametrize(("data", "message"), [
    ({"subject": "", "body": "B"}, "Say what it is about."),
    ({"subject": "S", "body": "   "}, "Write a message."),
    ({"subject": "S", "body": "x" * (BODY_MAX + 1)}, "A message has at most 2000 characters."),
    ({"subject": "x" * 101, "body": "B"}, "A subject has at most 100 characters."),
])
def test_a_bad_question_is_answered_on_the_form_and_kept(alice_client, data, message):
    response = alice_client.post("/help/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and 'id="ticket-error"' in html
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(("body", "message"), [
    ("", "Write a message."),
    ("x" * (BODY_MAX + 1), "A message has at most 2000 characters."),
])
def test_a_bad_reply_is_answered_and_kept(alice_client, alice, body, message):
    ticket = ticket_open(shopper=alice, subject="S", body="B")
    response = alice_client.post(f"/help/tickets/{ticket.number}/reply/", {"body": body})
    assert response.status_code == 400 and message in response.content.decode()
    assert ticket.messages.count() == 1


def test_a_closed_ticket_shows_no_reply_box_and_refuses_replies(alice_client, alice,
                                                                staff_client):
    ticket = ticket_open(shopper=alice, subject="S", body="B")
    staff = staff_client("customer_service").user
    ticket_status_set(ticket_id=ticket.pk, staff_user_id=staff.pk, to_status="closed")
    page = alice_client.get(f"/help/tickets/{ticket.number}/").content.decode()
    assert 'id="reply-form"' not in page and 'id="ticket-closed"' in page
    response = alice_client.post(f"/help/tickets/{ticket.number}/reply/", {"body": "hello?"})
    assert response.status_code == 409
    assert "This ticket is closed" in response.content.decode()
    assert ticket.messages.count() == 1


def test_pages_are_in_chinese_for_chinese_browsers(alice_client, alice):
    ticket = ticket_open(shopper=alice, subject="S", body="B")
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    assert "联系客服" in alice_client.get("/help/").content.decode()
    page = alice_client.get(f"/help/tickets/{ticket.number}/").content.decode()
    assert "待处理" in page


# ------------------------------------------------------------------ API


def test_the_api_lists_opens_reads_and_replies(alice_client, alice, place_order):
    order = place_order(alice)
    response = alice_client.post("/api/v1/tickets/", {"subject": "Late", "body": "Where is it?",
                                                      "order_number": order.number},
                                 content_type="application/json")
    assert response.status_code == 201
    number = response.json()["number"]
    assert response.json()["order_number"] == order.number
    listing = alice_client.get("/api/v1/tickets/").json()
    assert [t["number"] for t in listing["results"]] == [number]
    response = alice_client.post(f"/api/v1/tickets/{number}/reply/", {"body": "Hello?"},
                                 content_type="application/json")
    assert response.status_code == 201
    assert [m["body"] for m in response.json()["messages"]] == ["Where is it?", "Hello?"]
    detail = alice_client.get(f"/api/v1/tickets/{number}/").json()
    assert detail["status"] == "open" and "author_id" not in detail["messages"][0]


def test_the_api_refuses_clearly(alice_client, alice, bob, mall_client, staff_client):
    theirs = ticket_open(shopper=bob, subject="Private", body="B")
    mine = ticket_open(shopper=alice, subject="Mine", body="B")
    assert alice_client.get(f"/api/v1/tickets/{theirs.number}/").status_code == 404
    response = alice_client.post(f"/api/v1/tickets/{theirs.number}/reply/", {"body": "x"},
                                 content_type="application/json")
    assert response.status_code == 404 and response.json()["code"] == "ticket_not_found"
    for body in ({"body": ""}, {"body": "x" * (BODY_MAX + 1)}, {}):
        response = alice_client.post(f"/api/v1/tickets/{mine.number}/reply/", body,
                                     content_type="application/json")
        assert response.status_code == 400 and "body" in response.json()["fields"]
    response = alice_client.post("/api/v1/tickets/", {"subject": "S", "body": "B",
                                                      "order_number": "nope"},
                                 content_type="application/json")
    assert response.status_code == 404
    staff = staff_client("customer_service").user
    ticket_status_set(ticket_id=mine.pk, staff_user_id=staff.pk, to_status="closed")
    response = alice_client.post(f"/api/v1/tickets/{mine.number}/reply/", {"body": "x"},
                                 content_type="application/json")
    assert response.status_code == 409 and response.json()["code"] == "ticket_closed"
    assert TicketMessage.objects.count() == 2
    alice_client.logout()
    assert alice_client.get("/api/v1/tickets/").status_code in (401, 403)
