"""Catalogue jobs. Each takes ids, runs in the mall's schema (tenant-schemas-celery), and is
safe to run twice: an import resumes after its last committed batch."""

from celery import shared_task

from storefront.catalog import transfer


@shared_task(ignore_result=True)
def run_goods_import(job_id: int) -> None:
    transfer.import_job_run(job_id=job_id)
