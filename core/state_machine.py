"""One audited transition service per state machine (STYLE habit 4).

A `StateMachine` is the allowed moves as data plus the one place a status changes: it
locks the row, refuses an illegal move with a 409 that changes nothing, saves with
`update_fields`, writes an append-only history row (typed actor, from, to, why, external
reference) and publishes `<name>.<to_status>` as a domain event, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from core import events
from core.actors import Actor
from core.errors import Conflict


class IllegalTransition(Conflict):
    code = "illegal_transition"
    default_message = "This change is not allowed in the current state."


@dataclass(frozen=True)
class StateMachine:
    name: str  # the events' prefix: "payment" publishes "payment.succeeded"
    model: type[models.Model]
    history: type[models.Model]  # a core.models.StateChange subclass
    subject_field: str  # the history row's foreign key to `model`
    moves: Mapping[str, frozenset[str]]
    error: type[Conflict] = IllegalTransition
    timestamps: Mapping[str, str] = field(default_factory=dict)  # status -> *_at field
    event_data: Callable[[Any], dict] | None = None  # extra JSON for the published event
    status_field: str = "status"
    noun: str = ""  # for messages: "order", "after-sales case"; defaults to the name

    def __post_init__(self):
        choices = dict(self.model._meta.get_field(self.status_field).choices)
        unknown = (set(self.moves) | {s for t in self.moves.values() for s in t}) - set(choices)
        missing = set(choices) - set(self.moves)
        if unknown or missing:
            raise ValueError(f"{self.name}: moves name {unknown or 'no'} unknown and "
                             f"miss {missing or 'no'} states.")

    def label(self, status: str) -> str:
        return str(dict(self.model._meta.get_field(self.status_field).choices)[status]).lower()

    def can_move(self, from_status: str, to_status: str) -> bool:
        return to_status in self.moves.get(from_status, ())

    def transition(
        self,
        *,
        pk: int,
        to_status: str,
        actor: Actor,
        reason: str = "",
        reference: str = "",
        changes: Mapping[str, Any] | None = None,
        expected_from: frozenset[str] | None = None,
    ):
        """Move row `pk` to `to_status`, applying `changes` (field → value) in the same save.

        `expected_from` narrows the legal sources for callers that mean one specific move
        (a shopper may cancel only an unpaid order). Raises `self.error` (409) on an
        illegal move, with nothing changed.
        """
        if not isinstance(actor, Actor):
            raise TypeError("A transition needs the Actor that makes it.")
        with transaction.atomic():
            obj = self.model.objects.select_for_update().get(pk=pk)
            from_status = getattr(obj, self.status_field)
            legal = self.can_move(from_status, to_status)
            if legal and expected_from is not None:
                legal = from_status in expected_from
            if not legal:
                noun = self.noun or self.name.replace("_", " ")
                article = "An" if noun[0] in "aeiou" else "A"
                raise self.error(
                    f"{article} {noun} that is {self.label(from_status)} cannot become "
                    f"{self.label(to_status)}.",
                    fields={self.status_field: [from_status]},
                )
            update = [self.status_field]
            setattr(obj, self.status_field, to_status)
            stamp = self.timestamps.get(to_status)
            if stamp:
                setattr(obj, stamp, timezone.now())
                update.append(stamp)
            for name, value in (changes or {}).items():
                setattr(obj, name, value)
                update.append(name)
            if any(f.name == "updated_at" for f in self.model._meta.concrete_fields):
                update.append("updated_at")
            obj.save(update_fields=list(dict.fromkeys(update)))
            self.history.objects.create(
                **{self.subject_field: obj},
                from_status=from_status, to_status=to_status,
                actor_kind=actor.kind, actor_id=actor.id,
                reason=(reason or "")[:200], reference=(reference or "")[:64],
            )
            events.publish(
                f"{self.name}.{to_status.lower()}", subject=obj,
                id=obj.pk, from_status=from_status, to_status=to_status,
                **(self.event_data(obj) if self.event_data else {}),
            )
        return obj

    def record_creation(self, obj, *, actor: Actor, reason: str = "", reference: str = ""):
        """The first history row of a new row (from nothing to its initial state), and the
        `<name>.created` event."""
        status = getattr(obj, self.status_field)
        self.history.objects.create(
            **{self.subject_field: obj}, from_status="", to_status=status,
            actor_kind=actor.kind, actor_id=actor.id,
            reason=(reason or "")[:200], reference=(reference or "")[:64],
        )
        events.publish(
            f"{self.name}.created", subject=obj, id=obj.pk, from_status="", to_status=status,
            **(self.event_data(obj) if self.event_data else {}),
        )
