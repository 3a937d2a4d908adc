"""Customer-service tickets: a shopper's question, the conversation with staff, and the
ticket's status history.

The assignee is a staff user's id, not a foreign key: users of the public schema (platform
admins) share the user model, and a foreign key would make deleting one look for this
mall-only table (as merchant_console.models explains for invitations)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from core.models import StateChange

SUBJECT_MAX = 100
BODY_MAX = 2000


class TicketStatus(models.TextChoices):
    OPEN = "open", "Open"
    WAITING_SHOPPER = "waiting_shopper", "Waiting for the shopper"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class AuthorKind(models.TextChoices):
    SHOPPER = "shopper", "Shopper"
    STAFF = "staff", "Staff"


class WeChatDelivery(models.TextChoices):
    """What became of the WeChat customer-service message carrying a staff reply."""

    NONE = "", "Not sent by WeChat"  # shopper messages
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "No WeChat account"
    FAILED = "failed", "Refused by WeChat"


class Ticket(models.Model):
    number = models.CharField(max_length=20, unique=True)
    shopper = models.ForeignKey(
        "shoppers.Shopper", on_delete=models.PROTECT, related_name="tickets"
    )
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    subject = models.CharField(max_length=SUBJECT_MAX)
    status = models.CharField(
        max_length=20, choices=TicketStatus.choices, default=TicketStatus.OPEN
    )
    assignee_id = models.IntegerField(null=True, blank=True)  # a staff user's id
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # The last message, kept on the ticket so lists need no query per row.
    last_message_at = models.DateTimeField(default=timezone.now)
    last_message_by = models.CharField(max_length=8, choices=AuthorKind.choices)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-last_message_at"]),
            models.Index(fields=["shopper", "-created_at"]),
            models.Index(fields=["assignee_id", "-last_message_at"]),
        ]

    def __str__(self) -> str:
        return self.number


class TicketMessage(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author_kind = models.CharField(max_length=8, choices=AuthorKind.choices)
    author_id = models.BigIntegerField()  # the shopper's id, or the staff user's
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    wechat_delivery = models.CharField(
        max_length=8, choices=WeChatDelivery.choices, default=WeChatDelivery.NONE, blank=True
    )
    wechat_msgid = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(body=""), name="support_message_body_not_empty",
            ),
        ]


class TicketStatusChange(StateChange):
    """Append-only: who moved the ticket, when, from what to what, and why."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=TicketStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=TicketStatus.choices)

    class Meta(StateChange.Meta):
        pass
