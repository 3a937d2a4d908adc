"""An export's page: its progress (polled with htmx) and, once written, its file. Opening
an export asks for the permission of its area (exports.PERMISSIONS), so a member who may
not see finance cannot fetch a finance export by its id."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from merchant_console import exports
from merchant_console.access import staff_page
from merchant_console.models import ExportJob

BACK = {ExportJob.Kind.GOODS: "console:goods-transfer", ExportJob.Kind.ORDERS: "console:orders",
        ExportJob.Kind.FINANCE: "console:finance"}


def _job(request, job_id: int) -> ExportJob:
    try:
        job = exports.export_get(job_id=job_id)
    except exports.ExportNotFound as exc:
        raise Http404 from exc
    if not exports.may_open(request.user, job):
        raise PermissionDenied
    return job


def _context(job: ExportJob) -> dict:
    return {"job": job, "stalled": exports.is_stalled(job), "back": BACK[job.kind]}


@staff_page()
def export_page(request, job_id: int):
    job = _job(request, job_id)
    template = "console/exports/_status.html" if request.htmx else "console/exports/job.html"
    return render(request, template, _context(job))


@require_POST
@staff_page()
def export_retry(request, job_id: int):
    job = _job(request, job_id)
    exports.export_retry(job_id=job.pk)
    return redirect("console:export", job_id=job.pk)


@staff_page()
def export_download(request, job_id: int):
    job = _job(request, job_id)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file_name,
                        content_type=exports.CONTENT_TYPES[job.file_format])
