"""The console's jobs. Each runs in the mall's schema (tenant-schemas-celery)."""

from celery import shared_task

from merchant_console import exports


# Acknowledged after it ran: a worker that dies mid-file hands the message to another,
# which writes the file again from scratch.
@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def run_export(job_id: int) -> None:
    exports.export_run(job_id=job_id)


@shared_task(ignore_result=True)
def purge_exports() -> None:
    exports.export_purge()
