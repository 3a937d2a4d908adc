"""Becoming a distributor and the distributor's life (DESIGN §6).

Joining is always free: no mode asks for a payment or a purchase (a paid entry is 入门费, and
buying goods to qualify is a disguised one under 《禁止传销条例》 art. 7(2)). A purchase may
enroll a buyer automatically in an open mall, where anyone can also join without one.
Statuses move only through DISTRIBUTOR_MACHINE (pending, active, frozen, cleared).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.actors import Actor
from storefront.distribution import tree
from storefront.distribution.errors import (
    DistributionInvalid,
    DistributionNotFound,
    JoinNotAllowed,
)
from storefront.distribution.models import (
    DistributionSettings,
    Distributor,
    DistributorStatus,
    JoinedVia,
    JoinMode,
    Level,
    LevelChange,
    new_invite_code,
)
from storefront.distribution.transitions import DISTRIBUTOR_MACHINE
from storefront.shoppers.models import Shopper

D = DistributorStatus


def distributor_by_code(code: str) -> Distributor | None:
    code = (code or "").strip().upper()
    if not code or len(code) > 8:
        return None
    return Distributor.objects.filter(invite_code=code).first()


def starting_level() -> Level | None:
    return Level.objects.order_by("rank").first()


def _create(*, shopper: Shopper, recruiter: Distributor | None, via: str, status: str,
            actor: Actor, note: str = "") -> Distributor:
    """A new distributor row in its place in the tree, with its first history row."""
    if recruiter is not None and recruiter.status != D.ACTIVE:
        recruiter = None  # only an active distributor recruits
    for _attempt in range(5):
        try:
            with transaction.atomic():
                distributor = Distributor.objects.create(
                    shopper=shopper, status=status, joined_via=via,
                    invite_code=new_invite_code(), level=starting_level(),
                    application_note=note[:200],
                    activated_at=timezone.now() if status == D.ACTIVE else None,
                )
                tree.place_new(distributor, recruiter)
                DISTRIBUTOR_MACHINE.record_creation(distributor, actor=actor, reason=via)
                return distributor
        except IntegrityError as error:
            if "invite_code" not in str(error):
                raise
    raise RuntimeError("Could not draw a free invite code in 5 tries.")


def _existing(shopper: Shopper) -> Distributor | None:
    return Distributor.objects.filter(shopper=shopper).first()


def distributor_join(*, shopper: Shopper, invite_code: str = "", note: str = "") -> Distributor:
    """A shopper asks to become a distributor, maybe through someone's invite code.

    Open: active at once. Apply: pending until staff approve. Invitation only: needs a
    valid code of an active distributor. Assigned: only staff add distributors.
    Asking again answers the distributor already there (idempotent).
    """
    rules = DistributionSettings.current()
    if not rules.enabled:
        raise JoinNotAllowed("This mall does not run a distribution programme.")
    existing = _existing(shopper)
    if existing is not None and existing.status != D.CLEARED:
        return existing
    if existing is not None:
        raise JoinNotAllowed("Your distributor account was closed by the mall.")
    recruiter = distributor_by_code(invite_code) if invite_code else None
    if invite_code and (recruiter is None or recruiter.status != D.ACTIVE):
        raise DistributionInvalid(fields={"invite_code": ["This invite code is not valid."]})
    if recruiter is not None and recruiter.shopper_id == shopper.pk:
        raise DistributionInvalid(fields={"invite_code": ["That is your own code."]})
    if rules.join_mode == JoinMode.ASSIGNED:
        raise JoinNotAllowed("Distributors of this mall are added by the mall's staff.")
    if rules.join_mode == JoinMode.INVITE and recruiter is None:
        raise JoinNotAllowed("This mall takes distributors by invitation: use an invite link.",
                             fields={"invite_code": ["An invite code is required."]})
    note = (note or "").strip()
    if len(note) > 200:
        raise DistributionInvalid(fields={"note": ["At most 200 characters."]})
    if rules.join_mode == JoinMode.APPLY:
        return _create(shopper=shopper, recruiter=recruiter, via=JoinedVia.APPLICATION,
                       status=D.PENDING, actor=Actor.shopper(shopper.pk), note=note)
    via = JoinedVia.INVITATION if recruiter else JoinedVia.REQUEST
    return _create(shopper=shopper, recruiter=recruiter, via=via, status=D.ACTIVE,
                   actor=Actor.shopper(shopper.pk))


def distributor_enroll_buyer(*, shopper_id: int,
                             referrer: Distributor | None) -> Distributor | None:
    """After a paid order, in an open mall that enrolls buyers: the buyer becomes an active
    distributor under whoever referred the order. Never the only way in (see above)."""
    rules = DistributionSettings.current()
    if not (rules.enabled and rules.enroll_buyers and rules.join_mode == JoinMode.OPEN):
        return None
    shopper = Shopper.objects.get(pk=shopper_id)
    if _existing(shopper) is not None:
        return None
    return _create(shopper=shopper, recruiter=referrer, via=JoinedVia.PURCHASE,
                   status=D.ACTIVE, actor=Actor.system())


def distributor_assign(*, shopper: Shopper, staff_id: int,
                       recruiter: Distributor | None = None) -> Distributor:
    """Staff make a shopper a distributor (any join mode)."""
    existing = _existing(shopper)
    if existing is not None:
        raise JoinNotAllowed("This shopper is a distributor already.")
    return _create(shopper=shopper, recruiter=recruiter, via=JoinedVia.STAFF, status=D.ACTIVE,
                   actor=Actor.staff(staff_id))


def _move(distributor_id: int, to_status: str, actor: Actor, reason: str) -> Distributor:
    if not Distributor.objects.filter(pk=distributor_id).exists():
        raise DistributionNotFound()
    return DISTRIBUTOR_MACHINE.transition(pk=distributor_id, to_status=to_status, actor=actor,
                                          reason=reason)


def distributor_approve(*, distributor_id: int, staff_id: int) -> Distributor:
    return _move(distributor_id, D.ACTIVE, Actor.staff(staff_id), "application approved")


def distributor_freeze(*, distributor_id: int, staff_id: int, reason: str) -> Distributor:
    """A frozen distributor earns nothing on new orders and cannot withdraw; what they
    earned before stays theirs."""
    if not (reason or "").strip():
        raise DistributionInvalid(fields={"reason": ["Say why."]})
    return _move(distributor_id, D.FROZEN, Actor.staff(staff_id), reason.strip())


def distributor_unfreeze(*, distributor_id: int, staff_id: int) -> Distributor:
    return _move(distributor_id, D.ACTIVE, Actor.staff(staff_id), "unfrozen")


def distributor_clear(*, distributor_id: int, staff_id: int, reason: str) -> Distributor:
    """Closes the account for good (a rejected application, or a distributor who left)."""
    if not (reason or "").strip():
        raise DistributionInvalid(fields={"reason": ["Say why."]})
    return _move(distributor_id, D.CLEARED, Actor.staff(staff_id), reason.strip())


def level_set(*, distributor_id: int, level: Level | None, actor: Actor, reason: str) -> bool:
    """Change a distributor's level (staff, or the promotion rules); recorded. Answers
    whether it changed."""
    with transaction.atomic():
        distributor = Distributor.objects.select_for_update().get(pk=distributor_id)
        if distributor.level_id == (level.pk if level else None):
            return False
        LevelChange.objects.create(
            distributor=distributor, from_level_id=distributor.level_id, to_level=level,
            reason=reason[:200], actor_kind=actor.kind, actor_id=actor.id,
        )
        Distributor.objects.filter(pk=distributor.pk).update(
            level=level, level_changed_at=timezone.now()
        )
    return True
