"""Periodic work of the dashboards, in every mall (tenant-schemas-celery sends the beat
entry to each schema)."""

from celery import shared_task

from storefront.insights.funnel import funnel_flush
from storefront.insights.rollups import rollups_rebuild


@shared_task(ignore_result=True)
def flush_funnel() -> int:
    """Today's and yesterday's storefront counts into FunnelDay; safe to run twice."""
    return funnel_flush(days=2)


@shared_task(ignore_result=True)
def rebuild_rollups() -> None:
    """Recompute the sales rollups from the orders (a repair; not scheduled)."""
    rollups_rebuild()
