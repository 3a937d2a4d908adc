"""Writes of customer service: open a ticket, reply (shopper or staff), assign, change the
status. Each is one transaction; status moves go through TICKET_MACHINE.

A staff reply publishes `ticket.staff_replied` in its transaction; storefront.notifications
subscribes to it and sends the WeChat customer-service message after the commit, through
the outbox, so a rolled-back reply sends nothing and a broker outage loses nothing."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core import events
from core.actors import Actor
from storefront.orders.errors import OrderNotFound
from storefront.orders.models import Order
from storefront.shoppers.models import Shopper
from storefront.support.errors import (
    TicketClosed,
    TicketInvalid,
    TicketLimitReached,
    TicketNotFound,
)
from storefront.support.models import (
    BODY_MAX,
    SUBJECT_MAX,
    AuthorKind,
    Ticket,
    TicketMessage,
    TicketStatus,
    WeChatDelivery,
)
from storefront.support.transitions import TICKET_MACHINE

# A shopper with this many unsettled tickets must wait for answers before opening more.
MAX_UNSETTLED_PER_SHOPPER = 10
NUMBER_ATTEMPTS = 5
STAFF_PERMISSION = "support.change_ticket"
UNSETTLED = (TicketStatus.OPEN, TicketStatus.WAITING_SHOPPER)


def _clean_body(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise TicketInvalid("Write a message.", fields={"body": ["Write a message."]})
    if len(body) > BODY_MAX:
        message = f"A message has at most {BODY_MAX} characters."
        raise TicketInvalid(message, fields={"body": [message]})
    return body


def _clean_subject(subject: str | None) -> str:
    subject = " ".join((subject or "").split())
    if not subject:
        raise TicketInvalid("Say what it is about.", fields={"subject": ["Say what it is about."]})
    if len(subject) > SUBJECT_MAX:
        message = f"A subject has at most {SUBJECT_MAX} characters."
        raise TicketInvalid(message, fields={"subject": [message]})
    return subject


def _new_number() -> str:
    """`T` + the Shanghai date + 8 random digits: 17 characters, sortable by day."""
    return "T" + timezone.localtime().strftime("%Y%m%d") + f"{secrets.randbelow(10**8):08d}"


def ticket_open(
    *, shopper: Shopper, subject: str, body: str, order_number: str | None = None
) -> Ticket:
    """A shopper's new ticket with its first message, optionally about one of their orders."""
    subject, body = _clean_subject(subject), _clean_body(body)
    order = None
    if order_number:
        order = Order.objects.filter(shopper=shopper, number=str(order_number)[:32]).first()
        if order is None:
            raise OrderNotFound()
    with transaction.atomic():
        # One shopper's opens are serialised so the limit holds however many race.
        Shopper.objects.select_for_update().filter(pk=shopper.pk).first()
        unsettled = Ticket.objects.filter(shopper=shopper, status__in=UNSETTLED).count()
        if unsettled >= MAX_UNSETTLED_PER_SHOPPER:
            raise TicketLimitReached(
                f"You have {unsettled} tickets waiting for an answer; please wait for them "
                "before opening another."
            )
        now = timezone.now()
        for attempt in range(1, NUMBER_ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    ticket = Ticket.objects.create(
                        number=_new_number(), shopper=shopper, order=order, subject=subject,
                        created_at=now, last_message_at=now,
                        last_message_by=AuthorKind.SHOPPER,
                    )
                break
            except IntegrityError:
                if attempt == NUMBER_ATTEMPTS:
                    raise
        TicketMessage.objects.create(
            ticket=ticket, author_kind=AuthorKind.SHOPPER, author_id=shopper.pk, body=body,
            created_at=now,
        )
        TICKET_MACHINE.record_creation(ticket, actor=Actor.shopper(shopper.pk))
    return ticket


def _locked(ticket_id: int) -> Ticket:
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None:
        raise TicketNotFound()
    return ticket


def ticket_reply_by_shopper(*, ticket_id: int, shopper: Shopper, body: str) -> TicketMessage:
    """The shopper writes again; a ticket waiting for them, or resolved, is open again."""
    body = _clean_body(body)
    with transaction.atomic():
        ticket = _locked(ticket_id)
        if ticket.shopper_id != shopper.pk:
            raise TicketNotFound()
        if ticket.status == TicketStatus.CLOSED:
            raise TicketClosed()
        message = _add_message(ticket, AuthorKind.SHOPPER, shopper.pk, body)
        if ticket.status != TicketStatus.OPEN:
            TICKET_MACHINE.transition(
                pk=ticket.pk, to_status=TicketStatus.OPEN, actor=Actor.shopper(shopper.pk),
                reason="the shopper replied",
            )
    return message


def ticket_reply_by_staff(*, ticket_id: int, staff_user_id: int, body: str) -> TicketMessage:
    """Staff answer; an open ticket then waits for the shopper. The shopper also gets the
    answer in WeChat, when they signed in with it (after the commit, see the module)."""
    body = _clean_body(body)
    with transaction.atomic():
        ticket = _locked(ticket_id)
        if ticket.status == TicketStatus.CLOSED:
            raise TicketClosed("This ticket is closed: reopening it is not possible.")
        message = _add_message(ticket, AuthorKind.STAFF, staff_user_id, body)
        if ticket.status == TicketStatus.OPEN:
            TICKET_MACHINE.transition(
                pk=ticket.pk, to_status=TicketStatus.WAITING_SHOPPER,
                actor=Actor.staff(staff_user_id), reason="staff replied",
            )
        events.publish(
            "ticket.staff_replied", subject=message, id=ticket.pk, number=ticket.number,
            message_id=message.pk,
        )
    return message


def _add_message(ticket: Ticket, kind: str, author_id: int, body: str) -> TicketMessage:
    now = timezone.now()
    message = TicketMessage.objects.create(
        ticket=ticket, author_kind=kind, author_id=author_id, body=body, created_at=now,
        wechat_delivery=WeChatDelivery.PENDING if kind == AuthorKind.STAFF else "",
    )
    ticket.last_message_at, ticket.last_message_by = now, kind
    ticket.save(update_fields=["last_message_at", "last_message_by", "updated_at"])
    return message


def staff_can_handle_tickets() -> Q:
    """Active staff who may answer tickets: the owner, or a role holding the permission."""
    app_label, codename = STAFF_PERMISSION.split(".")
    granted = Q(groups__permissions__codename=codename,
                groups__permissions__content_type__app_label=app_label) | Q(
        user_permissions__codename=codename,
        user_permissions__content_type__app_label=app_label)
    return Q(is_active=True, is_staff=True) & (Q(is_superuser=True) | granted)


def ticket_assign(*, ticket_id: int, staff_user_id: int, assignee_id: int | None) -> Ticket:
    """Give the ticket to a member of staff who may handle tickets (None: nobody)."""
    if assignee_id is not None:
        User = get_user_model()
        if not User.objects.filter(staff_can_handle_tickets(), pk=assignee_id).exists():
            message = "Choose a member of staff who handles customer service."
            raise TicketInvalid(message, fields={"assignee": [message]})
    with transaction.atomic():
        ticket = _locked(ticket_id)
        if ticket.status == TicketStatus.CLOSED:
            raise TicketClosed("This ticket is closed.")
        ticket.assignee_id = assignee_id
        ticket.save(update_fields=["assignee_id", "updated_at"])
    return ticket


def ticket_status_set(
    *, ticket_id: int, staff_user_id: int, to_status: str, reason: str = ""
) -> Ticket:
    """Staff move the ticket (resolve, close, reopen...) along TICKET_TRANSITIONS."""
    if to_status not in TicketStatus.values:
        message = "Choose a status."
        raise TicketInvalid(message, fields={"status": [message]})
    if len(reason or "") > 200:
        message = "A reason has at most 200 characters."
        raise TicketInvalid(message, fields={"reason": [message]})
    if not Ticket.objects.filter(pk=ticket_id).exists():
        raise TicketNotFound()
    return TICKET_MACHINE.transition(
        pk=ticket_id, to_status=to_status, actor=Actor.staff(staff_user_id),
        reason=reason or "",
    )


def ticket_message_delivery_set(*, message_id: int, delivery: str, msgid: str = "") -> None:
    """Record what became of a staff reply's WeChat message (its sender calls this)."""
    TicketMessage.objects.filter(pk=message_id).update(
        wechat_delivery=delivery, wechat_msgid=msgid[:32]
    )
