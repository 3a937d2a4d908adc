"""Background work of the control plane (runs in the public schema)."""

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django_tenants.utils import schema_context

from tenants import provisioning
from tenants.models import Merchant


@shared_task(ignore_result=True)
def refill_spare_schemas() -> int:
    """Keep TENANT_SPARE_POOL_SIZE spare schemas ready; safe to run any number of times."""
    return provisioning.refill_spare_pool()


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_owner_welcome(merchant_id: int, owner_id: int) -> str:
    """Email the new owner their mall's addresses. The owner's account lives in the mall's
    schema, so it is read there."""
    merchant = Merchant.objects.get(pk=merchant_id)
    with schema_context(merchant.schema_name):
        owner = get_user_model().objects.get(pk=owner_id)
    send_mail(
        subject=f"Your mall {merchant.name} is ready",
        message=(
            f"Welcome to {merchant.name}!\n\n"
            f"Your mall: {merchant.home_url}\n"
            f"Your console: {merchant.home_url}console/ (sign in as {owner.email})\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[owner.email],
    )
    return owner.email


@shared_task(ignore_result=True)
def follow_applyments() -> int:
    """Follow every WeChat Pay application WeChat is still reviewing or waiting to have
    signed (tenants.applyment); idempotent, so overlapping runs change nothing more."""
    from tenants.applyment import applyments_follow

    return applyments_follow()
