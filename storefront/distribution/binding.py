"""Customer binding (DESIGN §6): which distributor a shopper is attributed to.

Kept apart from the recruitment tree. A touch is a shopper arriving through a
distributor's link, poster or invite code (or placing an order with it). The mall's
binding mode decides whether the touch takes the shopper over:

- permanent first touch: the first distributor keeps the shopper for good;
- first touch valid N days: the first keeps them N days, then the next touch rebinds;
- last touch: every touch rebinds.

A protection period (days after a binding in which nobody can take the shopper over) and
"bind new customers only" (a shopper who has already paid an order is never bound) narrow
each mode. Every change is written to BindingChange.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from core.actors import Actor
from storefront.distribution.models import (
    BindingChange,
    BindingMode,
    CustomerBinding,
    DistributionSettings,
    Distributor,
    DistributorStatus,
)
from storefront.orders.models import Order
from storefront.shoppers.models import Shopper


def _days(days: int) -> dt.timedelta:
    return dt.timedelta(days=days)


def _record(shopper_id: int, from_id: int | None, to_id: int | None, reason: str,
            actor: Actor) -> None:
    BindingChange.objects.create(
        shopper_id=shopper_id, from_distributor_id=from_id, to_distributor_id=to_id,
        reason=reason[:200], actor_kind=actor.kind, actor_id=actor.id,
    )


def binding_touch(*, shopper: Shopper, distributor: Distributor, source: str,
                  actor: Actor | None = None, now: dt.datetime | None = None,
                  paying_order_id: int | None = None) -> bool:
    """A shopper arrived through `distributor` (`source`: "link", "poster", "order"…).
    Binds or rebinds them when the mall's rules allow; answers whether it did.
    `paying_order_id`: the order being paid, which does not make the buyer an old
    customer for "bind new customers only"."""
    now = now or timezone.now()
    actor = actor or Actor.shopper(shopper.pk)
    rules = DistributionSettings.current()
    if not rules.enabled or distributor.status != DistributorStatus.ACTIVE:
        return False
    if distributor.shopper_id == shopper.pk:
        return False  # a distributor's own purchases are self-purchase, not a binding
    with transaction.atomic():
        # The shopper's row serialises concurrent touches of one shopper.
        Shopper.objects.select_for_update().only("id").get(pk=shopper.pk)
        current = CustomerBinding.objects.filter(shopper=shopper).first()
        if current is not None and current.distributor_id == distributor.pk:
            return False
        if (current is None and rules.bind_new_customers_only
                and _has_paid(shopper, paying_order_id)):
            return False
        if current is not None and not _can_take_over(current, rules, now):
            return False
        expires = (now + _days(rules.binding_days)
                   if rules.binding_mode == BindingMode.FIRST_TOUCH_DAYS else None)
        protected = now + _days(rules.protection_days) if rules.protection_days else None
        if current is None:
            CustomerBinding.objects.create(
                shopper=shopper, distributor=distributor, bound_at=now,
                expires_at=expires, protected_until=protected,
            )
            _record(shopper.pk, None, distributor.pk, f"bound by {source}", actor)
        else:
            previous = current.distributor_id
            CustomerBinding.objects.filter(pk=current.pk).update(
                distributor=distributor, bound_at=now, expires_at=expires,
                protected_until=protected,
            )
            _record(shopper.pk, previous, distributor.pk, f"rebound by {source}", actor)
    return True


def _can_take_over(current: CustomerBinding, rules: DistributionSettings,
                   now: dt.datetime) -> bool:
    if current.protected_until and now < current.protected_until:
        return False
    if current.distributor.status == DistributorStatus.CLEARED:
        return True
    if rules.binding_mode == BindingMode.PERMANENT:
        return False
    if rules.binding_mode == BindingMode.FIRST_TOUCH_DAYS:
        return current.expires_at is not None and now >= current.expires_at
    return True  # last touch


def _has_paid(shopper: Shopper, paying_order_id: int | None) -> bool:
    paid = Order.objects.filter(shopper=shopper, paid_at__isnull=False)
    return paid.exclude(pk=paying_order_id).exists() if paying_order_id else paid.exists()


def binding_set_by_staff(*, shopper: Shopper, distributor: Distributor | None, staff_id: int,
                         reason: str) -> None:
    """Staff bind a shopper to a distributor, or release them, whatever the rules say."""
    actor = Actor.staff(staff_id)
    with transaction.atomic():
        Shopper.objects.select_for_update().only("id").get(pk=shopper.pk)
        current = CustomerBinding.objects.filter(shopper=shopper).first()
        previous = current.distributor_id if current else None
        if previous == (distributor.pk if distributor else None):
            return
        if current is not None:
            current.delete()
        if distributor is not None:
            CustomerBinding.objects.create(shopper=shopper, distributor=distributor)
        _record(shopper.pk, previous, distributor.pk if distributor else None,
                f"staff: {reason}", actor)


def bound_distributor(shopper_id: int, *, at: dt.datetime | None = None) -> Distributor | None:
    """The distributor a shopper is attributed to at `at` (now): an active distributor
    whose binding has not run out (a first touch is valid N days)."""
    at = at or timezone.now()
    binding = (CustomerBinding.objects.select_related("distributor__level")
               .filter(shopper_id=shopper_id).first())
    if binding is None or binding.distributor.status != DistributorStatus.ACTIVE:
        return None
    if binding.expires_at is not None and at >= binding.expires_at:
        return None
    return binding.distributor
