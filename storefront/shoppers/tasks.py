"""Housekeeping of the shoppers domain; runs in each mall's schema (tenant-schemas-celery)."""

from celery import shared_task

from storefront.shoppers import services


@shared_task(ignore_result=True)
def purge_login_codes() -> int:
    """Daily: sign-in codes older than a day can no longer be used nor count toward a
    rate limit. Safe to run twice."""
    return services.login_codes_purge()
