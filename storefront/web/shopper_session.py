"""Shopper sessions, kept apart from staff auth: a `shopper_id` in the mall's session.

Part of the shopper face (pages and API both sign in through it): it works on the
request and its session, and calls the domain for the rest. The session store is per
schema and cookies are host-only, so a shopper signed in at one mall is a stranger at
every other.
"""

from __future__ import annotations

from django.utils import timezone

from storefront.orders.cart import cart_merge_anonymous
from storefront.shoppers.models import Shopper
from storefront.web.distribution_links import invite_remember, link_touch

SESSION_KEY = "shopper_id"
REFERRER_SESSION_KEY = "referrer_code"


def shopper_login(request, shopper: Shopper) -> None:
    """Sign a shopper in; the session key is cycled to defeat fixation, and the anonymous
    cart is merged into the shopper's."""
    anonymous_session_key = request.session.session_key
    referrer = request.session.get(REFERRER_SESSION_KEY)
    request.session.cycle_key()
    request.session[SESSION_KEY] = shopper.pk
    if referrer:
        request.session[REFERRER_SESSION_KEY] = referrer
    Shopper.objects.filter(pk=shopper.pk).update(last_seen_at=timezone.now())
    if anonymous_session_key:
        cart_merge_anonymous(session_key=anonymous_session_key, shopper=shopper)
    request.shopper = shopper
    if referrer:
        link_touch(request, referrer)  # they arrived through a distributor's link


def shopper_logout(request) -> None:
    request.session.flush()
    request.shopper = None


def _load_shopper(request) -> Shopper | None:
    shopper_id = request.session.get(SESSION_KEY)
    if not shopper_id:
        return None
    return Shopper.objects.filter(pk=shopper_id, is_active=True).first()


class _LazyShopper:
    """`request.shopper`, read from the database the first time something asks.

    A page served from the page cache never asks, so a signed-in shopper's cached page costs
    no query of the mall's schema. A plain attribute (not a SimpleLazyObject) because the
    code reads it as "a Shopper or None": `request.shopper is None` must stay true for a
    visitor who is not signed in."""

    def __get__(self, request, owner=None):
        if request is None:
            return self
        if "_shopper" not in request.__dict__:
            request.__dict__["_shopper"] = _load_shopper(request)
        return request.__dict__["_shopper"]

    def __set__(self, request, value):
        request.__dict__["_shopper"] = value


_lazy_request_classes: dict[type, type] = {}


def _with_lazy_shopper(request) -> None:
    """Give this request a lazy `shopper` (a subclass of its own class, made once)."""
    cls = type(request)
    lazy = _lazy_request_classes.get(cls)
    if lazy is None:
        lazy = type(cls.__name__, (cls,), {"shopper": _LazyShopper()})
        _lazy_request_classes[cls] = lazy
    request.__class__ = lazy


def signed_in_shopper_id(request) -> int | None:
    """The signed-in shopper's id without loading the shopper: the loaded row's when it was
    read already, else the session's (for counting visitors)."""
    loaded = request.__dict__.get("_shopper", False)
    if loaded is not False:
        return loaded.pk if loaded is not None else None
    session = getattr(request, "session", None)
    return session.get(SESSION_KEY) if session is not None else None


class ShopperMiddleware:
    """Sets `request.shopper` (a Shopper or None, loaded when first read) on mall hosts and
    remembers `?ref=` share codes (last touch) for the order's referrer; a signed-in visitor
    arriving with one is bound to its distributor, and an `?invite=` code is kept for the
    join form."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.schema_name == "public":
            request.shopper = None
            return self.get_response(request)
        _with_lazy_shopper(request)
        ref = request.GET.get("ref")
        if ref and len(ref) <= 16:
            if request.session.get(REFERRER_SESSION_KEY) != ref:
                request.session[REFERRER_SESSION_KEY] = ref
            if request.shopper is not None:
                link_touch(request, ref)
        invite = request.GET.get("invite")
        if invite:
            invite_remember(request, invite)
        return self.get_response(request)
