"""Kernel jobs."""

from celery import shared_task

from core import outbox


@shared_task(ignore_result=True)
def relay_outbox() -> int:
    """Every minute in every schema: send the messages a broker outage held back."""
    return outbox.relay()
