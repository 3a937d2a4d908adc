"""Exports as jobs: goods, orders and the finance journal are written by a Celery task
(merchant_console.tasks.run_export) into the mall's media storage, with their progress on
the job's row, and downloaded from the job's page (exports_views) or the staff API.

A job keeps the filters it was asked with (`parameters`), so the task can run again and
write the same file from scratch: a worker that died mid-file leaves a job that is re-run
(the task is acknowledged late) or retried from its page. Each area's own row-writing code
writes the file, so its content is what the synchronous export gave. Files older than
EXPORT_KEEP_DAYS are deleted with their jobs (merchant_console.tasks.purge_exports)."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from core import outbox
from core.errors import DomainError, NotFound
from merchant_console import finance, orders_console
from merchant_console.models import ExportJob
from storefront.catalog import transfer
from storefront.distribution import selectors as distribution_selectors
from storefront.orders.selectors import OrderFilters

logger = logging.getLogger(__name__)

# Progress is written to the job's row once per this many rows.
CHUNK_ROWS = 500
EXPORT_KEEP_DAYS = 7
# A running job whose progress has not moved for this long is taken for a dead worker's:
# its page offers to run it again.
STALE_AFTER = dt.timedelta(minutes=10)

# The permission that opens an export of each kind: the one that shows its area.
PERMISSIONS = {
    ExportJob.Kind.GOODS: "catalog.view_product",
    ExportJob.Kind.ORDERS: "orders.view_order",
    ExportJob.Kind.FINANCE: "merchant_console.view_finance",
}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
TASK = "merchant_console.tasks.run_export"


class ExportNotFound(NotFound):
    default_message = "No such export."


def may_open(user, job: ExportJob) -> bool:
    return user.has_perm(PERMISSIONS[job.kind])


# --- requesting --------------------------------------------------------------------------


def export_request(*, user, kind: str, file_format: str, parameters: dict) -> ExportJob:
    """Record the job and queue its task after the commit (core.outbox). Call it inside the
    transaction that writes the export's audit row."""
    with transaction.atomic():
        job = ExportJob.objects.create(kind=kind, file_format=file_format,
                                       parameters=parameters, requested_by_id=user.pk)
        outbox.enqueue(TASK, kwargs={"job_id": job.pk})
    return job


def export_retry(*, job_id: int) -> ExportJob:
    """Queue a failed or stalled job again; its task writes the file from scratch."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            raise ExportNotFound()
        if job.status == ExportJob.Status.DONE:
            return job
        job.status = ExportJob.Status.PENDING
        job.error = ""
        job.save(update_fields=["status", "error"])
        outbox.enqueue(TASK, kwargs={"job_id": job.pk})
    return job


def is_stalled(job: ExportJob, now: dt.datetime | None = None) -> bool:
    """Failed, or not finished long after it was asked for (its worker died)."""
    if job.status == ExportJob.Status.FAILED:
        return True
    if job.status == ExportJob.Status.DONE:
        return False
    moment = job.started_at or job.created_at
    return (now or timezone.now()) - moment > STALE_AFTER


def export_get(*, job_id: int) -> ExportJob:
    job = ExportJob.objects.filter(pk=job_id).first()
    if job is None:
        raise ExportNotFound()
    return job


# --- the parameters of each kind -----------------------------------------------------------


def order_parameters(query: orders_console.OrderQuery) -> dict:
    """An order list's filters as JSON (the shopper and the distributor as ids)."""
    filters = query.filters
    return {
        "q": filters.q, "status": query.status,
        "date_from": filters.date_from.isoformat() if filters.date_from else None,
        "date_to": filters.date_to.isoformat() if filters.date_to else None,
        "shopper_id": filters.shopper_id,
        "distributor_id": getattr(query.distributor, "pk", None),
    }


def _order_query(parameters: dict) -> orders_console.OrderQuery:
    distributor = None
    if parameters.get("distributor_id") is not None:
        found = distribution_selectors.distributor_find(ref=str(parameters["distributor_id"]))
        # Gone since the export was asked for: nobody's orders, not everybody's.
        distributor = found if found and found.pk == parameters["distributor_id"] else None
    shopper_id = parameters.get("shopper_id")
    if parameters.get("distributor_id") is not None and distributor is None:
        shopper_id = 0

    def day(value):
        return dt.date.fromisoformat(value) if value else None

    return orders_console.OrderQuery(
        filters=OrderFilters(q=parameters.get("q") or "",
                             date_from=day(parameters.get("date_from")),
                             date_to=day(parameters.get("date_to")), shopper_id=shopper_id),
        status=parameters.get("status") or "", distributor=distributor)


# --- writing -----------------------------------------------------------------------------


@dataclass
class _Plan:
    rows_total: int
    file_name: str
    chunks: Iterable[bytes | str]


def _lazy(build: Callable[[], bytes]):
    """A whole-file writer as one chunk, built only when the file is written."""
    yield build()


def _goods(job: ExportJob, on_row: Callable[[], None]) -> _Plan:
    return _Plan(transfer.goods_export_rows_total(), f"goods.{job.file_format}",
                 _lazy(lambda: transfer.goods_export(file_format=job.file_format,
                                                     on_row=on_row)))


def _orders(job: ExportJob, on_row: Callable[[], None]) -> _Plan:
    found, _counts = orders_console.orders_for_query(_order_query(job.parameters))
    stamp = timezone.localtime(job.created_at).strftime("%Y%m%d-%H%M")
    if job.file_format == "xlsx":
        chunks = _lazy(lambda: orders_console.export_xlsx(found, on_row))
    else:
        chunks = orders_console.export_csv(found, on_row)
    return _Plan(min(found.count(), orders_console.EXPORT_MAX_ROWS),
                 f"orders-{stamp}.{job.file_format}", chunks)


def _finance(job: ExportJob, on_row: Callable[[], None]) -> _Plan:
    form, period = finance.period_from(job.parameters)
    if period is None:
        raise ValueError(f"bad period {job.parameters!r}: {form.errors.as_text()}")
    _content_type, build = finance.EXPORT_FORMATS[job.file_format]
    return _Plan(finance.journal_rows_total(period), finance.export_name(period, job.file_format),
                 build(period, on_row))


WRITERS = {ExportJob.Kind.GOODS: _goods, ExportJob.Kind.ORDERS: _orders,
           ExportJob.Kind.FINANCE: _finance}


class _Progress:
    """Counts rows; writes the count to the job's row once per CHUNK_ROWS rows."""

    def __init__(self, job: ExportJob):
        self.job_id = job.pk
        self.done = 0

    def __call__(self) -> None:
        self.done += 1
        if self.done % CHUNK_ROWS == 0:
            ExportJob.objects.filter(pk=self.job_id).update(rows_done=self.done)


def export_run(*, job_id: int) -> ExportJob | None:
    """Write the job's file from scratch (whatever an earlier, interrupted run left is
    discarded) and mark it done; a finished job is left alone."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status == ExportJob.Status.DONE:
            return job
        if job.file:
            job.file.delete(save=False)
        job.status = ExportJob.Status.RUNNING
        job.rows_done = 0
        job.error = ""
        job.started_at = timezone.now()
        job.save(update_fields=["status", "rows_done", "error", "started_at", "file"])
    progress = _Progress(job)
    try:
        plan = WRITERS[job.kind](job, progress)
        ExportJob.objects.filter(pk=job.pk).update(rows_total=plan.rows_total)
        with tempfile.TemporaryFile() as out:
            for chunk in plan.chunks:
                out.write(chunk.encode() if isinstance(chunk, str) else chunk)
            out.seek(0)
            job.refresh_from_db()
            job.file.save(plan.file_name, File(out), save=False)
    except Exception as exc:
        logger.exception("export %s failed", job_id)
        message = exc.message if isinstance(exc, DomainError) else "The file could not be written."
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED, error=message[:300], finished_at=timezone.now())
        job.refresh_from_db()
        return job
    job.file_name = plan.file_name
    job.rows_done = progress.done
    job.status = ExportJob.Status.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["file", "file_name", "rows_done", "status", "finished_at"])
    return job


def export_purge(*, now: dt.datetime | None = None) -> int:
    """Delete exports older than EXPORT_KEEP_DAYS, their files first."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=EXPORT_KEEP_DAYS)
    count = 0
    for job in ExportJob.objects.filter(created_at__lt=cutoff).iterator():
        if job.file:
            job.file.delete(save=False)
        job.delete()
        count += 1
    return count
