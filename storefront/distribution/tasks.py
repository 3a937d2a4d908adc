"""Celery tasks of the distribution engine; each is safe to run twice.

Each runs in one mall's schema (tenant-schemas-celery; the beat sends an entry without
`tenant_schemas` to every mall), takes ids, and calls a service. The scheduled ones are in
control_plane/settings.py (CELERY_BEAT_SCHEDULE, times in Asia/Shanghai).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction
from django.db.models import F, Sum

from core.errors import DomainError
from storefront.distribution import compliance, levels, profit_share_route, settlement
from storefront.distribution.models import (
    Distributor,
    DistributorStatus,
    Level,
    OrderAttribution,
)
from storefront.orders.models import OrderLine

BATCH = 500


logger = logging.getLogger(__name__)


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


@shared_task(ignore_result=True)
def release_commissions() -> dict:
    """Every minute: frozen commissions past the after-sales hold become available (and,
    in a mall settling as they become available, are settled at once). A second run finds
    nothing left to move."""
    return settlement.commissions_settle_due()


@shared_task(ignore_result=True)
def generate_monthly_statements() -> dict:
    """02:00 on days 1 to 5: the previous month's statements. Later runs settle only what
    the first missed (a commission that became available since, a run that died half-way)
    into a further statement of the month; nothing is settled twice."""
    run = settlement.statements_generate(settlement.previous_month())
    return {"month": run.month.isoformat(), "statements": run.statements,
            "entries": run.entries, "in_review": run.in_review}


@shared_task(ignore_result=True)
def promote_after_order(order_id: int) -> int | None:
    """An order completed: its attributed distributor may have reached a level."""
    distributor_id = (OrderAttribution.objects.filter(order_id=order_id)
                      .values_list("distributor_id", flat=True).first())
    if distributor_id is None:
        return None
    level = levels.promote(distributor_id)
    return level.pk if level else None


def _active_ids(**filters):
    return (Distributor.objects.filter(status=DistributorStatus.ACTIVE, **filters)
            .order_by("pk").values_list("pk", flat=True).iterator(chunk_size=BATCH))


@shared_task(ignore_result=True)
def promote_all() -> int:
    """Nightly: everyone's figures move without an order of theirs completing (recruits,
    team sales), so everyone is looked at. Answers how many moved up."""
    all_levels = list(Level.objects.all())
    if not any(level.conditions for level in all_levels):
        return 0
    return sum(levels.promote(pk, all_levels=all_levels) is not None for pk in _active_ids())


@shared_task(ignore_result=True)
def review_levels_monthly() -> int:
    """On the 1st: distributors on a level re-checked monthly keep it only if last
    month's figures still meet it. Answers how many moved down."""
    month = settlement.previous_month()
    return sum(levels.review_monthly(pk, month=month) is not None
               for pk in _active_ids(level__demote_monthly=True))


@shared_task(ignore_result=True)
def compliance_monitor_nightly() -> dict:
    """Nightly: the anti-pyramid checks; alerts are unique per kind, distributor and day."""
    return compliance.compliance_monitor()


@shared_task(autoretry_for=(Exception,), retry_backoff=30, retry_backoff_max=900,
             max_retries=20, ignore_result=True)
def send_commission_share(order_id: int) -> None:
    """Ask WeChat to share an order's commission (profit-sharing route; idempotent). A
    network failure is retried; a refusal (over the ratio, funds unfrozen) is logged for
    staff, the commission stays owed to the distributor in the ledger."""
    try:
        profit_share_route.send_share(order_id)
    except DomainError:
        logger.exception("commission share of order %s refused", order_id)


@shared_task(autoretry_for=(Exception,), retry_backoff=30, retry_backoff_max=900,
             max_retries=20, ignore_result=True)
def unfreeze_unshared_order(order_id: int) -> None:
    """Held funds nothing will share go back to the merchant (profit-sharing route)."""
    try:
        profit_share_route.unfreeze_if_unshared(order_id)
    except DomainError:
        logger.exception("unfreezing the payment of order %s refused", order_id)
