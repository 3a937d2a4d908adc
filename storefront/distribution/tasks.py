"""Celery tasks of the distribution engine; each is safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction
from django.db.models import F, Sum

from storefront.distribution.models import Distributor, OrderAttribution
from storefront.orders.models import OrderLine


@shared_task
def count_attributed_sale(order_id: int) -> int:
    """Bring the attributed distributor's `sales_fen` in line with the order: goods paid
    less goods refunded. Adds only the difference to what was counted before."""
    with transaction.atomic():
        attribution = (OrderAttribution.objects.select_for_update()
                       .filter(order_id=order_id, distributor__isnull=False).first())
        if attribution is None:
            return 0
        refunded = OrderLine.objects.filter(order_id=order_id).aggregate(
            total=Sum("refunded_fen"))["total"] or 0
        delta = attribution.goods_paid_fen - refunded - attribution.counted_fen
        if delta:
            Distributor.objects.filter(pk=attribution.distributor_id).update(
                sales_fen=F("sales_fen") + delta)
            OrderAttribution.objects.filter(pk=attribution.pk).update(
                counted_fen=F("counted_fen") + delta)
    return delta


@shared_task(autoretry_for=(Exception,), retry_backoff=30, retry_backoff_max=900,
             max_retries=20)
def send_withdrawal(withdrawal_id: int) -> str:
    from storefront.distribution.withdrawals import withdrawal_send

    return withdrawal_send(withdrawal_id).status
