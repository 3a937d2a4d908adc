"""Background work of the control plane (runs in the public schema)."""

from celery import shared_task

from tenants import provisioning


@shared_task(ignore_result=True)
def refill_spare_schemas() -> int:
    """Keep TENANT_SPARE_POOL_SIZE spare schemas ready; safe to run any number of times."""
    return provisioning.refill_spare_pool()
