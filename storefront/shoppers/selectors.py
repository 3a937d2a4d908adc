"""Reads of the shoppers domain. Every fetch on a shopper's behalf goes through an
access-style selector: missing and not-yours are the same 404."""

from __future__ import annotations

from django.db.models import QuerySet

from storefront.shoppers.errors import AddressNotFound
from storefront.shoppers.models import Address, Shopper


def address_list(*, shopper: Shopper) -> QuerySet[Address]:
    """The shopper's addresses, the default first, then the newest."""
    return Address.objects.filter(shopper=shopper).order_by("-is_default", "-id")


def address_get_for_shopper(*, shopper: Shopper, address_id: object) -> Address:
    """The shopper's own address `address_id`, or AddressNotFound (404) when it does not
    exist *or* belongs to someone else: the answer never tells the two apart."""
    try:
        pk = int(address_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise AddressNotFound() from None
    if isinstance(address_id, bool) or not 0 < pk < 2**63:
        raise AddressNotFound()
    address = Address.objects.filter(pk=pk, shopper=shopper).first()
    if address is None:
        raise AddressNotFound()
    return address


def address_get_default(*, shopper: Shopper) -> Address | None:
    return Address.objects.filter(shopper=shopper, is_default=True).first()
