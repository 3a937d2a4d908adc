"""Bulk import and export of goods (storefront.catalog.transfer): round trips through CSV and
XLSX, batches that import all or nothing with a per-row report, and the console's pages and
API that start and follow an import."""

from __future__ import annotations

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile

from core.actors import Actor
from core.models import OutboxMessage
from merchant_console.exports import export_run
from merchant_console.models import AuditEntry, ExportJob
from storefront.catalog import services, transfer
from storefront.catalog.errors import CatalogInvalid
from storefront.catalog.models import ImportJob, Product, Sku

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(mall, category):
    dress = services.product_create(
        title="碎花连衣裙", category_id=category.pk, base_price_fen=9900, initial_stock=5,
        dimensions=[services.SpecDimensionInput(name="颜色", values=["红", "蓝"]),
                    services.SpecDimensionInput(name="尺码", values=["S", "M"])],
    )
    services.product_set_shelf(product_id=dress.pk, on_shelf=True)
    mug = services.product_create(title="马克杯", category_id=category.pk, base_price_fen=2550,
                                  initial_stock=40)
    return dress, mug


def _upload(dataset: tablib.Dataset, file_format: str, name: str = "goods") -> SimpleUploadedFile:
    content = dataset.export(file_format)
    if isinstance(content, str):
        content = content.encode()
    return SimpleUploadedFile(f"{name}.{file_format}", content)


def _state():
    return sorted(Sku.objects.filter(is_active=True).values_list(
        "product__title", "spec_label", "price_fen", "stock", "product__is_on_shelf"))


def _import(upload) -> ImportJob:
    job = transfer.import_job_create(upload=upload, actor=Actor.system())
    return transfer.import_job_run(job_id=job.pk)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_export_imports_back_unchanged_and_an_edited_one_applies(catalogue, file_format):
    before = _state()
    exported = transfer.goods_export(file_format=file_format)
    dataset = tablib.Dataset().load(
        exported.decode("utf-8-sig") if file_format == "csv" else exported, format=file_format)
    assert dataset.headers == transfer.HEADERS and dataset.height == 5
    job = _import(SimpleUploadedFile(f"goods.{file_format}", exported))
    assert (job.status, job.errors, job.rows_imported, job.products_updated) == (
        "done", [], 5, 2)
    assert _state() == before and Product.objects.count() == 2

    rows = [list(row) for row in dataset]
    spec = transfer.HEADERS.index("spec")
    price = transfer.HEADERS.index("price")
    for row in rows:
        if row[spec] == "颜色:红 / 尺码:M":
            row[price] = "120.50"
    rows.append(["", "保温杯", "", rows[0][3], "", "1", "", "", "88", "", "6", ""])
    edited = tablib.Dataset(*rows, headers=dataset.headers)
    job = _import(_upload(edited, file_format))
    assert (job.status, job.errors, job.products_created, job.products_updated) == (
        "done", [], 1, 2)
    assert Sku.objects.get(spec_label="颜色:红 / 尺码:M").price_fen == 12050
    cup = Product.objects.get(title="保温杯")
    assert cup.is_on_shelf and [(s.price_fen, s.stock) for s in cup.skus.all()] == [(8800, 6)]


def test_a_batch_with_a_bad_row_imports_none_of_its_rows_and_names_the_bad_ones(
        catalogue, category, monkeypatch):
    monkeypatch.setattr(transfer, "BATCH_ROWS", 3)
    headers = ["title", "category_id", "spec", "price", "stock"]
    rows = [
        # batch 1 (lines 2-4): fine
        ["帽子", category.pk, "颜色:黑", "30", "5"],
        ["帽子", category.pk, "颜色:白", "30", "5"],
        ["帽子", category.pk, "颜色:灰", "30", "5"],
        # batch 2 (lines 5-7): a good product and a product with two bad rows
        ["围巾", category.pk, "", "45", "2"],
        ["手套", category.pk, "尺码:S", "abc", "1"],
        ["手套", category.pk, "尺码:M", "20", "-1x"],
        # batch 3 (line 8): a service refusal (unknown category)
        ["袜子", 999999, "", "5", "1"],
    ]
    job = _import(_upload(tablib.Dataset(*rows, headers=headers), "csv"))
    assert job.status == "done"
    assert set(Product.objects.values_list("title", flat=True)) == {"碎花连衣裙", "马克杯", "帽子"}
    assert job.rows_total == job.rows_done == 7 and job.rows_imported == 3
    assert job.failed_rows == [5, 6, 7, 8]
    assert [error["line"] for error in job.errors] == [6, 7, 8]
    assert "price: 'abc' is not an amount in yuan" in job.errors[0]["message"]
    assert "stock: '-1x' is not a whole number" in job.errors[1]["message"]
    assert "category_id" in job.errors[2]["message"]
    # Run twice (a redelivered task): nothing is imported again.
    transfer.import_job_run(job_id=job.pk)
    assert Product.objects.filter(title="帽子").count() == 1


def test_an_interrupted_import_resumes_after_its_last_committed_batch(catalogue, category,
                                                                     monkeypatch):
    monkeypatch.setattr(transfer, "BATCH_ROWS", 1)
    rows = [["甲", category.pk, "", "1", "1"], ["乙", category.pk, "", "1", "1"]]
    job = transfer.import_job_create(
        upload=_upload(tablib.Dataset(*rows, headers=["title", "category_id", "spec", "price",
                                                      "stock"]), "csv"),
        actor=Actor.system())
    services.product_create(title="甲", category_id=category.pk, base_price_fen=1)
    ImportJob.objects.filter(pk=job.pk).update(status="running", batches_done=1, rows_done=1)
    transfer.import_job_run(job_id=job.pk)
    assert Product.objects.filter(title="甲").count() == 1  # batch 1 is not run again
    assert Product.objects.filter(title="乙").count() == 1


@pytest.mark.parametrize(("name", "content", "message"), [
    ("goods.txt", b"title", "Upload a .csv or .xlsx file."),
    ("goods.csv", b"", "The file is empty."),
    ("goods.csv", b"title,price\n", "Missing columns"),
    ("goods.csv", b"\xff\xfe\x00bad", "UTF-8"),
    ("goods.xlsx", b"not a workbook", "cannot be read as XLSX"),
    ("goods.csv", b"title,category_id,spec,price,stock\n", "no rows"),
])
def test_a_bad_file_is_refused_before_any_job_starts(mall, name, content, message):
    with pytest.raises(CatalogInvalid) as refused:
        transfer.import_job_create(upload=SimpleUploadedFile(name, content),
                                   actor=Actor.system())
    assert message in str(refused.value.fields)
    assert not ImportJob.objects.exists()


def test_the_console_page_starts_an_import_and_shows_its_progress_and_errors(
        catalogue, category, staff_client):
    client = staff_client
    upload = _upload(tablib.Dataset(["好", category.pk, "", "1", "1"],
                                    ["坏", category.pk, "", "0.001", "1"],
                                    headers=["title", "category_id", "spec", "price", "stock"]),
                     "xlsx")
    response = client.post("/console/goods/transfer/", {"file": upload})
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/console/goods/transfer/?job={job.pk}"
    assert OutboxMessage.objects.get().kwargs == {"job_id": job.pk}
    audit = AuditEntry.objects.get()
    assert (audit.action, audit.target, audit.detail["rows"]) == (
        "goods.import_start", str(job.pk), 2)
    page = client.get(f"/console/goods/transfer/?job={job.pk}").content.decode()
    assert 'hx-trigger="every 1s"' in page and 'value="0"' in page  # polling while waiting
    from storefront.catalog.tasks import run_goods_import

    run_goods_import(job.pk)
    status = client.get(f"/console/goods/transfer/imports/{job.pk}/").content.decode()
    assert "every 1s" not in status and 'value="100"' in status
    assert "0.001" in status and "at most 2 decimals" in status
    assert not Product.objects.filter(title__in=["好", "坏"]).exists()  # one batch: none


def test_a_bad_upload_on_the_page_says_why(mall, staff_client):
    response = staff_client.post(
        "/console/goods/transfer/", {"file": SimpleUploadedFile("x.pdf", b"%PDF")}, follow=True)
    assert "Upload a .csv or .xlsx file." in response.content.decode()
    assert not ImportJob.objects.exists() and not AuditEntry.objects.exists()


def test_import_and_export_through_the_api(catalogue, category, staff_client):
    client = staff_client
    upload = _upload(tablib.Dataset(["新杯", category.pk, "", "9.90", "3"],
                                    headers=["title", "category_id", "spec", "price", "stock"]),
                     "csv")
    response = client.post("/api/v1/console/goods/imports/", {"file": upload})
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert response.json()["status"] == "pending"
    transfer.import_job_run(job_id=job_id)
    response = client.get(f"/api/v1/console/goods/imports/{job_id}/")
    assert response.json()["status"] == "done" and response.json()["rows_imported"] == 1
    response = client.post("/api/v1/console/goods/exports/", {"file_format": "xlsx"})
    assert response.status_code == 202
    export_id = response.json()["id"]
    status = client.get(f"/api/v1/console/goods/exports/{export_id}/").json()
    assert (status["status"], status["download_url"]) == ("pending", None)
    export_run(job_id=export_id)
    status = client.get(response.json()["status_url"]).json()
    assert (status["status"], status["rows_done"], status["rows_total"]) == ("done", 6, 6)
    response = client.get(status["download_url"])
    assert response.status_code == 200 and response["Content-Type"].startswith(
        "application/vnd.openxmlformats")
    content = b"".join(response.streaming_content)
    assert tablib.Dataset().load(content, format="xlsx").height == 6
    response = client.post("/api/v1/console/goods/exports/", {"file_format": "pdf"})
    assert response.status_code == 400
    assert client.get("/api/v1/console/goods/exports/999999/").status_code == 404
    response = client.post("/api/v1/console/goods/imports/",
                           {"file": SimpleUploadedFile("x.csv", b"")})
    assert response.status_code == 400
    assert client.get("/api/v1/console/goods/imports/999999/").status_code == 404
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "goods.import_start", "goods.export"]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_console_export_button_writes_the_same_file_through_a_job(catalogue, staff_client,
                                                                    file_format, monkeypatch):
    """The job's file is what the synchronous export gave, however many chunks it took."""
    from merchant_console import exports
    from tests.merchant_console.export_helpers import follow, job_of

    monkeypatch.setattr(exports, "CHUNK_ROWS", 2)  # five SKUs: three chunks
    expected = transfer.goods_export(file_format=file_format)
    response = staff_client.post("/console/goods/transfer/export/", {"format": file_format})
    job = job_of(response)
    audit = AuditEntry.objects.get(action="goods.export")
    assert (audit.target, audit.detail) == (file_format, {"job": job.pk})
    content, download = follow(staff_client, response)
    assert download["Content-Disposition"] == f'attachment; filename="goods.{file_format}"'
    if file_format == "csv":
        assert content == expected
    else:  # an XLSX file carries its own timestamps: compare the cells
        assert tablib.Dataset().load(content, format="xlsx").dict == \
            tablib.Dataset().load(expected, format="xlsx").dict
    job.refresh_from_db()
    assert (job.rows_done, job.rows_total, job.kind) == (5, 5, ExportJob.Kind.GOODS)
    assert staff_client.post("/console/goods/transfer/export/", {"format": "pdf"}
                             ).status_code == 302
    assert ExportJob.objects.count() == 1
