"""Reads over merchants."""

from django.db import connection

from tenants.models import Merchant


def merchant_current() -> Merchant:
    """The mall whose schema this connection is on (in a request, a task, a command)."""
    return Merchant.objects.get(schema_name=connection.schema_name)


def merchant_by_slug(*, slug: str) -> Merchant | None:
    return Merchant.objects.filter(slug=slug).first()
