"""Stripe's webhook endpoint, on the platform host: one URL for every merchant's events."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.errors import BillingNotConfigured, WebhookRefused
from billing.webhooks import webhook_receive


@csrf_exempt  # signed by Stripe instead (billing.stripe_gateway.construct_event)
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """200 once the event is stored (applied, or recorded as stale/unmatched/ignored): Stripe
    stops retrying. 400 when the signature fails (nothing stored). Any other failure is a
    500 with the transaction rolled back, and Stripe delivers the event again."""
    try:
        event = webhook_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except WebhookRefused as exc:
        return JsonResponse({"code": exc.code, "message": exc.message}, status=400)
    except BillingNotConfigured as exc:
        return JsonResponse({"code": exc.code, "message": exc.message}, status=503)
    return JsonResponse({"received": True, "event": event.event_id, "outcome": event.outcome})
