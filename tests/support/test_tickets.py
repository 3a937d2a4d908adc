"""Tickets in the domain: opening, the conversation, the status machine, and refusals that
change nothing."""

from __future__ import annotations

import pytest

from core import events
from core.errors import DomainError
from core.models import OutboxMessage
from storefront.orders.errors import OrderNotFound
from storefront.support.errors import (
    IllegalTicketTransition,
    TicketClosed,
    TicketInvalid,
    TicketLimitReached,
    TicketNotFound,
)
from storefront.support.models import (
    BODY_MAX,
    Ticket,
    TicketMessage,
    TicketStatus,
    TicketStatusChange,
    WeChatDelivery,
)
from storefront.support.selectors import ticket_get_for_shopper, ticket_list
from storefront.support.services import (
    MAX_UNSETTLED_PER_SHOPPER,
    ticket_assign,
    ticket_open,
    ticket_reply_by_shopper,
    ticket_reply_by_staff,
    ticket_status_set,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(staff_client):
    return staff_client("customer_service").user


def _history(ticket) -> list[tuple[str, str, str]]:
    return list(TicketStatusChange.objects.filter(ticket=ticket)
                .values_list("from_status", "to_status", "actor_kind"))


def test_a_shopper_opens_a_ticket_about_their_order(alice, place_order):
    order = place_order(alice)
    ticket = ticket_open(shopper=alice, subject="  Broken   cup ", body=" It arrived broken. ",
                         order_number=order.number)
    assert (ticket.subject, ticket.status, ticket.order_id) == ("Broken cup", "open", order.pk)
    assert ticket.number.startswith("T") and len(ticket.number) == 17
    assert list(ticket.messages.values_list("author_kind", "author_id", "body")) == [
        ("shopper", alice.pk, "It arrived broken.")]
    assert _history(ticket) == [("", "open", "shopper")]


def test_the_conversation_moves_the_status(alice, staff):
    ticket = ticket_open(shopper=alice, subject="Size", body="Which size fits 170cm?")
    with events.recorded() as published:
        ticket_reply_by_staff(ticket_id=ticket.pk, staff_user_id=staff.pk, body="M fits.")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING_SHOPPER
    assert ticket.last_message_by == "staff"
    assert [e.name for e in published] == ["ticket.waiting_shopper", "ticket.staff_replied"]
    reply = TicketMessage.objects.get(author_kind="staff")
    assert reply.wechat_delivery == WeChatDelivery.PENDING
    # the WeChat message waits in the outbox for the commit
    assert OutboxMessage.objects.filter(
        task="storefront.notifications.tasks.send_ticket_reply",
        kwargs={"message_id": reply.pk}).exists()

    ticket_reply_by_shopper(ticket_id=ticket.pk, shopper=alice, body="Thanks, and colour?")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    ticket_status_set(ticket_id=ticket.pk, staff_user_id=staff.pk, to_status="resolved",
                      reason="answered")
    ticket_reply_by_shopper(ticket_id=ticket.pk, shopper=alice, body="One more thing")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN and ticket.resolved_at is not None
    assert _history(ticket) == [
        ("", "open", "shopper"), ("open", "waiting_shopper", "staff"),
        ("waiting_shopper", "open", "shopper"), ("open", "resolved", "staff"),
        ("resolved", "open", "shopper"),
    ]
    assert ticket.messages.count() == 4


def test_a_staff_reply_to_a_resolved_ticket_keeps_it_resolved(alice, staff):
    ticket = ticket_open(shopper=alice, subject="Size", body="?")
    ticket_status_set(ticket_id=ticket.pk, staff_user_id=staff.pk, to_status="resolved")
    ticket_reply_by_staff(ticket_id=ticket.pk, staff_user_id=staff.pk, body="Follow-up")
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RESOLVED


@pytest.mark.parametrize(("subject", "body", "field"), [
    ("", "text", "subject"),
    ("   ", "text", "subject"),
    ("x" * 101, "text", "subject"),
    ("Subject", "", "body"),
    ("Subject", " \n ", "body"),
    ("Subject", "x" * (BODY_MAX + 1), "body"),
])
def test_bad_input_opens_nothing(alice, subject, body, field):
    with pytest.raises(TicketInvalid) as refused:
        ticket_open(shopper=alice, subject=subject, body=body)
    assert list(refused.value.fields) == [field]
    assert not Ticket.objects.exists() and not TicketMessage.objects.exists()


def test_a_message_of_exactly_the_maximum_is_taken(alice):
    ticket = ticket_open(shopper=alice, subject="S", body="x" * BODY_MAX)
    assert len(ticket.messages.get().body) == BODY_MAX


def test_another_shoppers_order_is_not_found(alice, bob, place_order):
    bobs = place_order(bob)
    with pytest.raises(OrderNotFound):
        ticket_open(shopper=alice, subject="S", body="B", order_number=bobs.number)
    assert not Ticket.objects.exists()


def test_another_shoppers_ticket_is_the_same_404_as_a_missing_one(alice, bob):
    ticket = ticket_open(shopper=alice, subject="S", body="B")
    with pytest.raises(TicketNotFound):
        ticket_get_for_shopper(shopper=bob, number=ticket.number)
    with pytest.raises(TicketNotFound):
        ticket_get_for_shopper(shopper=alice, number="T0000")
    with pytest.raises(TicketNotFound):
        ticket_reply_by_shopper(ticket_id=ticket.pk, shopper=bob, body="mine now")
    assert ticket.messages.count() == 1


def test_a_closed_ticket_takes_no_reply_from_anyone_and_cannot_move(alice, staff):
    ticket = ticket_open(shopper=alice, subject="S", body="B")
    ticket_status_set(ticket_id=ticket.pk, staff_user_id=staff.pk, to_status="closed")
    with pytest.raises(TicketClosed):
        ticket_reply_by_shopper(ticket_id=ticket.pk, shopper=alice, body="hello?")
    with pytest.raises(TicketClosed):
        ticket_reply_by_staff(ticket_id=ticket.pk, staff_user_id=staff.pk, body="hi")
    with pytest.raises(TicketClosed):
        ticket_assign(ticket_id=ticket.pk, staff_user_id=staff.pk, assignee_id=staff.pk)
    with pytest.raises(IllegalTicketTransition) as refused:
        ticket_status_set(ticket_id=ticket.pk, staff_user_id=staff.pk, to_status="open")
    assert refused.value.status == 409
    assert ticket.messages.count() == 1
    assert not OutboxMessage.objects.filter(task__contains="ticket").exists()
    assert len(_history(ticket)) == 2


def test_an_unknown_status_is_bad_input(alice, staff):
    ticket = ticket_open(shopper=alice, subject="S", body="B")
    with pytest.raises(TicketInvalid):
        ticket_status_set(ticket_id=ticket.pk, staff_user_id=staff.pk, to_status="lost")
    with pytest.raises(TicketNotFound):
        ticket_status_set(ticket_id=10**9, staff_user_id=staff.pk, to_status="closed")


def test_assign_only_to_staff_who_handle_tickets(alice, staff, staff_client):
    ticket = ticket_open(shopper=alice, subject="S", body="B")
    finance = staff_client("finance").user
    for wrong in (finance.pk, 10**6):
        with pytest.raises(TicketInvalid):
            ticket_assign(ticket_id=ticket.pk, staff_user_id=staff.pk, assignee_id=wrong)
    ticket_assign(ticket_id=ticket.pk, staff_user_id=staff.pk, assignee_id=staff.pk)
    assert list(ticket_list(assignee_id=staff.pk)) == [ticket]
    assert list(ticket_list(unassigned=True)) == []
    ticket_assign(ticket_id=ticket.pk, staff_user_id=staff.pk, assignee_id=None)
    assert list(ticket_list(unassigned=True)) == [ticket]


def test_a_shopper_cannot_pile_up_unanswered_tickets(alice):
    for n in range(MAX_UNSETTLED_PER_SHOPPER):
        ticket_open(shopper=alice, subject=f"S{n}", body="B")
    with pytest.raises(TicketLimitReached) as refused:
        ticket_open(shopper=alice, subject="one more", body="B")
    assert isinstance(refused.value, DomainError) and refused.value.status == 409
    assert Ticket.objects.count() == MAX_UNSETTLED_PER_SHOPPER


def test_the_status_history_is_append_only(alice):
    from django.db import DatabaseError, transaction

    ticket = ticket_open(shopper=alice, subject="S", body="B")
    with pytest.raises(DatabaseError), transaction.atomic():
        TicketStatusChange.objects.filter(ticket=ticket).update(reason="rewritten")


def test_search_finds_number_subject_phone_and_order(alice, bob, place_order):
    order = place_order(bob)
    a = ticket_open(shopper=alice, subject="Broken cup", body="B")
    b = ticket_open(shopper=bob, subject="Late", body="B", order_number=order.number)
    assert list(ticket_list(q=a.number)) == [a]
    assert list(ticket_list(q="cup")) == [a]
    assert list(ticket_list(q="0000002")) == [b]
    assert list(ticket_list(q=order.number)) == [b]
