"""Who did it: the one actor type of the project, written on every audit and event row.

A state change that matters to money or stock takes an `Actor`; rows store it as
`actor_kind` + `actor_id` (the id means a staff user, a shopper or a platform admin,
depending on the kind; nothing for the system or WeChat).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class ActorKind(models.TextChoices):
    SYSTEM = "system", "System"
    WECHAT = "wechat", "WeChat Pay"
    STAFF = "staff", "Staff"
    SHOPPER = "shopper", "Shopper"
    PLATFORM_ADMIN = "platform", "Platform admin"


_NEEDS_ID = frozenset({ActorKind.STAFF, ActorKind.SHOPPER, ActorKind.PLATFORM_ADMIN})


@dataclass(frozen=True)
class Actor:
    kind: str
    id: int | None = None

    def __post_init__(self):
        if self.kind not in ActorKind.values:
            raise ValueError(f"Unknown actor kind {self.kind!r}.")
        if (self.kind in _NEEDS_ID) != (self.id is not None):
            raise ValueError(f"Actor {self.kind!r} with id {self.id!r}: staff, shoppers and "
                             "platform admins carry an id, the system and WeChat none.")

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorKind.SYSTEM)

    @classmethod
    def wechat(cls) -> Actor:
        return cls(ActorKind.WECHAT)

    @classmethod
    def staff(cls, user_id: int) -> Actor:
        return cls(ActorKind.STAFF, user_id)

    @classmethod
    def shopper(cls, shopper_id: int) -> Actor:
        return cls(ActorKind.SHOPPER, shopper_id)

    @classmethod
    def platform_admin(cls, user_id: int) -> Actor:
        return cls(ActorKind.PLATFORM_ADMIN, user_id)

    def __str__(self) -> str:
        label = ActorKind(self.kind).label
        return f"{label} #{self.id}" if self.id is not None else label


class ActorFields(models.Model):
    """The two columns an audit row stores its actor in."""

    actor_kind = models.CharField(max_length=8, choices=ActorKind.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def actor(self) -> Actor:
        return Actor(self.actor_kind, self.actor_id)
