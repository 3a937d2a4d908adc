"""Reads over merchants."""

from django.db.models import QuerySet

from tenants.models import Merchant


def merchant_list() -> QuerySet[Merchant]:
    return Merchant.objects.select_related("plan").prefetch_related("domains")


def merchant_by_slug(*, slug: str) -> Merchant | None:
    return Merchant.objects.filter(slug=slug).first()
