"""The kernel's tables: the outbox (in every schema), and the abstract audit row every
state machine's history table extends."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from core.actors import ActorFields


class OutboxMessage(models.Model):
    """A Celery task decided inside a transaction, written in that same transaction.

    It is sent right after the commit and deleted once the broker took it; when the broker
    is down it stays here and the relay (`core.tasks.relay_outbox`) sends it later. So a
    committed change never loses its side effects, and a rolled-back one never has any.
    Delivery is at least once: tasks are written to be safe to run twice.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    eta = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"


class StateChange(ActorFields):
    """One move of a state machine: who (a typed actor), when, from, to, why, and the
    outside world's reference for it (a WeChat transaction or refund id, a notification
    id...). Append-only: the database refuses UPDATE and DELETE (core.db.append_only)."""

    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    reason = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status} by {self.actor}"
