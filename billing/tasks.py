"""Billing's Celery tasks: the dunning sweep (beat), e-mails and plan changes (outbox)."""

from __future__ import annotations

from celery import shared_task

from billing import dunning, emails, services


@shared_task(ignore_result=True)
def dunning_sweep() -> dict:
    result = dunning.dunning_sweep()
    return {"suspended": result.suspended, "trials_ended": result.trials_ended,
            "reminded": result.reminded}


@shared_task(ignore_result=True)
def send_billing_email(kind: str, merchant_id: int, invoice_id: int | None = None,
                       when: int | None = None) -> str:
    return emails.send_billing_email(kind=kind, merchant_id=merchant_id,
                                     invoice_id=invoice_id, when=when)


@shared_task(bind=True, ignore_result=True, max_retries=None)
def send_plan_change(task, change_id: int) -> str:
    """Stripe unreachable: retry with backoff (up to an hour apart) with the same
    idempotency key, so the change lands once whenever Stripe answers again."""
    try:
        return services.plan_change_send(change_id).status
    except services.PlanChangeRetry as exc:
        raise task.retry(exc=exc, countdown=min(30 * 2 ** task.request.retries, 3600)) from exc
