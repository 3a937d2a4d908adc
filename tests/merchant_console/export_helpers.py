"""Follow an export job the way staff do: the button's redirect to the job's page, the task
(run here directly, as a worker would), the page with its download link, the file."""

from __future__ import annotations

import re

from django.core.files.storage import storages

from merchant_console.exports import export_run
from merchant_console.models import ExportJob


def reset_storage_paths() -> None:
    # TenantFileSystemStorage caches the media root; MEDIA_ROOT changes per test.
    storage = storages["default"]
    for name in ("relative_media_root", "relative_media_url", "base_location", "location"):
        storage.__dict__.pop(name, None)


def job_of(response) -> ExportJob:
    """The job a page's export button started (it redirects to the job's page)."""
    assert response.status_code == 302, response.status_code
    match = re.fullmatch(r"/console/exports/(\d+)/", response["Location"])
    assert match, response["Location"]
    return ExportJob.objects.get(pk=int(match[1]))


def download(client, job: ExportJob) -> tuple[bytes, object]:
    """Run the job's task, check its page offers the file, and fetch it."""
    export_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE, job.error
    page = client.get(f"/console/exports/{job.pk}/")
    assert page.status_code == 200
    assert f"/console/exports/{job.pk}/download/" in page.content.decode()
    response = client.get(f"/console/exports/{job.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    return b"".join(response.streaming_content), response


def follow(client, response) -> tuple[bytes, object]:
    return download(client, job_of(response))
