"""Row locks of the shoppers domain, taken through these helpers only."""

from __future__ import annotations

from django.db import connection

from storefront.shoppers.models import Shopper


def shopper_lock_for_addresses(*, shopper_id: int) -> Shopper:
    """Serialise every change to one shopper's address book (default switching, the
    address cap) on the shopper's row. Must run inside a transaction."""
    return Shopper.objects.select_for_update().get(pk=shopper_id)


def phone_lock_for_codes(*, phone: str) -> None:
    """Serialise code requests for one phone number (transaction-scoped advisory lock), so
    two simultaneous requests cannot both slip under the rate limit. The key carries the
    schema: the same number in two malls does not contend."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            [f"login_code:{connection.schema_name}:{phone}"],
        )
