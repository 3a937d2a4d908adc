"""Staff-facing background work. Tasks run in the schema they were queued from."""

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from tenants.selectors import merchant_current


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_owner_welcome(user_id: int) -> str:
    """Email the new owner their mall's addresses. Looks the user up in the current schema,
    which is only right if the task really runs in the merchant's schema."""
    owner = get_user_model().objects.get(pk=user_id)
    merchant = merchant_current()
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
