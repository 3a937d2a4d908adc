"""Visits through a distributor's link (`?ref=<share code>&invite=<invite code>`).

The shopper middleware calls these: a signed-in visitor who opens any mall page through a
distributor's link is bound to that distributor (the mall's binding rules decide whether
the touch takes them over), and the invite code is remembered so the join form starts
with it. Cheap on purpose: nothing at all without `?ref=`, one query to find the
distributor with it, and nothing again for the same shopper and code in one session.
"""

from __future__ import annotations

from storefront.distribution import binding, centre

INVITE_SESSION_KEY = "invite_code"
TOUCHED_SESSION_KEY = "ref_touched"


def link_touch(request, ref: str) -> bool:
    """Bind the signed-in shopper to the active distributor sharing with `ref`; answers
    whether the binding changed."""
    shopper = request.shopper
    marker = f"{shopper.pk}:{ref}"
    if request.session.get(TOUCHED_SESSION_KEY) == marker:
        return False
    request.session[TOUCHED_SESSION_KEY] = marker
    distributor = centre.distributor_active_by_share_code(ref)
    if distributor is None or distributor.shopper_id == shopper.pk:
        return False
    return binding.binding_touch(shopper=shopper, distributor=distributor, source="link")


def invite_remember(request, invite: str) -> None:
    """Keep the link's invite code for the join form (no query: it is checked on join)."""
    invite = invite.strip().upper()
    if invite and len(invite) <= 8 and request.session.get(INVITE_SESSION_KEY) != invite:
        request.session[INVITE_SESSION_KEY] = invite


def invite_remembered(request) -> str:
    return request.session.get(INVITE_SESSION_KEY, "")
