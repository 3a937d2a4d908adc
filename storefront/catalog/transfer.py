"""Bulk export and import of goods as CSV or XLSX (tablib; openpyxl writes and reads XLSX).

One row per SKU: the product's columns repeat on each of its rows. An export can be edited
and imported back. Import groups rows by `product_id` (an existing product) or, for a new
product, by its title; the rows of a product name its whole spec matrix (`spec` is
"颜色:红 / 尺码:M", empty for a product without specs), and combinations the file does not
list are switched off. Rows are imported in batches of whole products, one transaction per
batch, through the catalogue's own services: a batch with a bad row imports none of its
rows, and the job lists every bad row (its line in the file) and why.

django-import-export was weighed: its resources map a row to one model row, while a row
here is a cell of a product's spec matrix written through services that check and audit it,
so tablib (which it is built on) is used directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import tablib
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from core import outbox
from core.actors import Actor
from core.errors import DomainError
from storefront.catalog import services
from storefront.catalog.errors import CatalogInvalid, ImportJobNotFound
from storefront.catalog.models import Category, ImportJob, Product, Sku

FORMATS = ("csv", "xlsx")
HEADERS = ["product_id", "title", "subtitle", "category_id", "category", "on_shelf",
           "sku_id", "spec", "price", "market_price", "stock", "barcode"]
REQUIRED_HEADERS = {"title", "spec", "price", "stock"}
MAX_FILE_BYTES = 5 * 2**20
MAX_ROWS = 5000
BATCH_ROWS = 100
_TRUE = {"1", "yes", "true", "y", "是", "上架"}
_FALSE = {"0", "no", "false", "n", "否", "下架"}


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


# --- export -------------------------------------------------------------------------------


def goods_dataset(on_row: Callable[[], None] | None = None) -> tablib.Dataset:
    """Every product with its active SKUs, one row per SKU (two queries). `on_row` is
    called after each row (an export job counts its progress with it)."""
    dataset = tablib.Dataset(headers=HEADERS)
    products = Product.objects.select_related("category").prefetch_related(
        Prefetch("skus", queryset=Sku.objects.filter(is_active=True).order_by("id"))
    ).order_by("id")
    for product in products:
        for sku in product.skus.all():
            dataset.append([
                product.pk, product.title, product.subtitle, product.category_id,
                product.category.name, 1 if product.is_on_shelf else 0, sku.pk,
                sku.spec_label, _yuan(sku.price_fen), _yuan(sku.market_price_fen), sku.stock,
                sku.barcode,
            ])
            if on_row is not None:
                on_row()
    return dataset


def goods_export_rows_total() -> int:
    """The rows an export writes: one per active SKU."""
    return Sku.objects.filter(is_active=True).count()


def goods_export(*, file_format: str, on_row: Callable[[], None] | None = None) -> bytes:
    if file_format not in FORMATS:
        raise CatalogInvalid(fields={"format": [f"Choose one of: {', '.join(FORMATS)}."]})
    exported = goods_dataset(on_row).export(file_format)
    # Excel opens a UTF-8 CSV as UTF-8 only with the byte-order mark.
    return ("\ufeff" + exported).encode() if file_format == "csv" else exported


# --- reading a file -----------------------------------------------------------------------


def _format_of(file_name: str) -> str:
    extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if extension not in FORMATS:
        raise CatalogInvalid(fields={"file": ["Upload a .csv or .xlsx file."]})
    return extension


def _load(content: bytes, file_format: str) -> tablib.Dataset:
    try:
        if file_format == "csv":
            return tablib.Dataset().load(content.decode("utf-8-sig"), format="csv")
        return tablib.Dataset().load(content, format="xlsx")
    except UnicodeDecodeError as exc:
        raise CatalogInvalid(fields={"file": ["Save the CSV file as UTF-8."]}) from exc
    except Exception as exc:  # tablib and openpyxl raise many kinds for a broken file
        raise CatalogInvalid(fields={"file": ["The file cannot be read as "
                                              f"{file_format.upper()}."]}) from exc


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


@dataclass
class _Row:
    line: int
    product_id: int | None = None
    title: str = ""
    subtitle: str | None = None
    category_id: int | None = None
    on_shelf: bool | None = None
    spec: list[tuple[str, str]] = field(default_factory=list)
    price_fen: int = 0
    market_price_fen: int = 0
    stock: int = 0
    errors: list[str] = field(default_factory=list)


def _money(row: _Row, name: str, text: str, *, required: bool) -> int:
    if not text:
        if required:
            row.errors.append(f"{name}: required.")
        return 0
    try:
        amount = Decimal(text.replace("¥", "").replace(",", ""))
    except InvalidOperation:
        row.errors.append(f"{name}: {text!r} is not an amount in yuan.")
        return 0
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        row.errors.append(f"{name}: {text!r} is not an amount in yuan with at most 2 decimals.")
        return 0
    return int(amount * 100)


def _int(row: _Row, name: str, text: str, *, required: bool) -> int | None:
    if not text:
        if required:
            row.errors.append(f"{name}: required.")
        return None
    try:
        return int(text)
    except ValueError:
        row.errors.append(f"{name}: {text!r} is not a whole number.")
        return None


def _spec(row: _Row, text: str) -> list[tuple[str, str]]:
    pairs = []
    for part in filter(None, (piece.strip() for piece in text.split("/"))):
        name, sep, value = part.partition(":")
        if not sep:
            name, sep, value = part.partition("：")
        if not sep or not name.strip() or not value.strip():
            row.errors.append(f"spec: {part!r} is not written as name:value.")
            return []
        pairs.append((name.strip(), value.strip()))
    return pairs


def _parse(dataset: tablib.Dataset, categories: dict[str, int]) -> list[_Row]:
    headers = [_cell(header).lower() for header in (dataset.headers or [])]
    missing = REQUIRED_HEADERS - set(headers)
    if missing or not ({"category_id", "category", "product_id"} & set(headers)):
        needed = sorted(missing) or ["category_id or category"]
        raise CatalogInvalid(fields={"file": [f"Missing columns: {', '.join(needed)}."]})
    if dataset.height > MAX_ROWS:
        raise CatalogInvalid(fields={"file": [f"At most {MAX_ROWS} rows per file."]})
    rows = []
    for index, values in enumerate(dataset, start=2):
        data = {header: _cell(value) for header, value in zip(headers, values, strict=False)}
        if not any(data.values()):
            continue
        row = _Row(line=index)
        row.product_id = _int(row, "product_id", data.get("product_id", ""), required=False)
        row.title = data.get("title", "")
        if "subtitle" in data:
            row.subtitle = data["subtitle"]
        row.category_id = _int(row, "category_id", data.get("category_id", ""), required=False)
        if row.category_id is None and data.get("category"):
            row.category_id = categories.get(data["category"])
            if row.category_id is None:
                row.errors.append(f"category: no category is named {data['category']!r}.")
        shelf = data.get("on_shelf", "").lower()
        if shelf:
            if shelf in _TRUE | _FALSE:
                row.on_shelf = shelf in _TRUE
            else:
                row.errors.append(f"on_shelf: {shelf!r} is neither 1 nor 0.")
        row.spec = _spec(row, data.get("spec", ""))
        row.price_fen = _money(row, "price", data.get("price", ""), required=True)
        row.market_price_fen = _money(row, "market_price", data.get("market_price", ""),
                                      required=False)
        row.stock = _int(row, "stock", data.get("stock", ""), required=True) or 0
        if row.product_id is None and not row.title:
            row.errors.append("title: required for a new product (or give its product_id).")
        rows.append(row)
    return rows


def _groups(rows: list[_Row]) -> list[list[_Row]]:
    """Rows of one product together, in the order products first appear."""
    groups: dict[tuple, list[_Row]] = {}
    for row in rows:
        key = ("id", row.product_id) if row.product_id is not None else ("new", row.title)
        groups.setdefault(key, []).append(row)
    return list(groups.values())


def _batches(groups: list[list[_Row]]) -> list[list[list[_Row]]]:
    batches: list[list[list[_Row]]] = [[]]
    size = 0
    for group in groups:
        if size and size + len(group) > BATCH_ROWS:
            batches.append([])
            size = 0
        batches[-1].append(group)
        size += len(group)
    return [batch for batch in batches if batch]


# --- importing one product ----------------------------------------------------------------


def _error_text(exc: DomainError) -> str:
    details = "; ".join(f"{name}: {message}" if name not in ("skus", "dimensions", "file")
                        else message
                        for name, messages in exc.fields.items() for message in messages)
    return details or exc.message


def _dimensions(group: list[_Row]) -> list[services.SpecDimensionInput]:
    names = [name for name, _ in group[0].spec]
    for row in group:
        if [name for name, _ in row.spec] != names:
            raise CatalogInvalid(fields={"spec": [
                f"line {row.line}: every row of a product names the same specs in the same "
                f"order ({' / '.join(names) or 'none'})."]})
    values: list[list[str]] = [[] for _ in names]
    for row in group:
        for index, (_, value) in enumerate(row.spec):
            if value not in values[index]:
                values[index].append(value)
    return [services.SpecDimensionInput(name=name, values=values[index])
            for index, name in enumerate(names)]


def _import_product(group: list[_Row], actor: Actor) -> bool:
    """Create or update one product from its rows; True if it was created."""
    first = group[0]
    seen = set()
    for row in group:
        cell = tuple(value for _, value in row.spec)
        if cell in seen:
            raise CatalogInvalid(fields={"spec": [f"line {row.line}: this combination is "
                                                  "listed twice."]})
        seen.add(cell)
    dimensions = _dimensions(group)
    base_price = min(row.price_fen for row in group) or 1
    created = first.product_id is None
    if created:
        if first.category_id is None:
            raise CatalogInvalid(fields={"category_id": ["Give the product's category."]})
        product = services.product_create(
            title=first.title, subtitle=first.subtitle or "", category_id=first.category_id,
            base_price_fen=base_price, dimensions=dimensions, actor=actor,
        )
    else:
        changes = {}
        if first.title:
            changes["title"] = first.title
        if first.subtitle is not None:
            changes["subtitle"] = first.subtitle
        if first.category_id is not None:
            changes["category_id"] = first.category_id
        product, _ = services.product_update(
            product_id=first.product_id, dimensions=dimensions, actor=actor, **changes,
        )
    cells = [services.SkuCellInput(values=tuple(value for _, value in row.spec),
                                   price_fen=row.price_fen, stock=row.stock,
                                   market_price_fen=row.market_price_fen) for row in group]
    services.product_cells_set(product=product, cells=cells, only_listed=True, actor=actor)
    if first.on_shelf is not None:
        services.product_set_shelf(product_id=product.pk, on_shelf=first.on_shelf, actor=actor)
    return created


class _BatchFailed(Exception):
    pass


def _run_batch(job: ImportJob, batch: list[list[_Row]], actor: Actor) -> None:
    """One batch, one transaction: every product of it, or (on any bad row) none."""
    errors: list[dict] = []
    created = updated = 0
    lines = [row.line for group in batch for row in group]
    try:
        with transaction.atomic():
            for group in batch:
                bad = [row for row in group if row.errors]
                if bad:
                    errors.extend({"line": row.line, "message": "; ".join(row.errors)}
                                  for row in bad)
                    continue
                try:
                    with transaction.atomic():
                        if _import_product(group, actor):
                            created += 1
                        else:
                            updated += 1
                except DomainError as exc:
                    error = {"line": group[0].line, "message": _error_text(exc)}
                    if getattr(exc, "upgrade_url", None):  # the plan's product limit
                        error["upgrade_url"] = exc.upgrade_url
                    errors.append(error)
            if errors:
                raise _BatchFailed
            ImportJob.objects.filter(pk=job.pk).update(
                rows_done=job.rows_done + len(lines), batches_done=job.batches_done + 1,
                rows_imported=job.rows_imported + len(lines),
                products_created=job.products_created + created,
                products_updated=job.products_updated + updated,
            )
            job.refresh_from_db()
    except _BatchFailed:
        with transaction.atomic():
            job.rows_done += len(lines)
            job.batches_done += 1
            job.errors = [*job.errors, *errors]
            job.failed_rows = [*job.failed_rows, *lines]
            job.save(update_fields=["rows_done", "batches_done", "errors", "failed_rows"])


# --- the job ------------------------------------------------------------------------------


def import_job_create(*, upload, actor: Actor) -> ImportJob:
    """Check the uploaded file's name, size and columns and record the job (the caller
    queues the task after the commit)."""
    if upload is None:
        raise CatalogInvalid(fields={"file": ["Choose a .csv or .xlsx file."]})
    file_name = (getattr(upload, "name", "") or "upload")[-200:]
    file_format = _format_of(file_name)
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_FILE_BYTES:
        raise CatalogInvalid(fields={"file": ["The file is larger than 5 MB."]})
    upload.seek(0)
    content = upload.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise CatalogInvalid(fields={"file": ["The file is larger than 5 MB."]})
    if not content:
        raise CatalogInvalid(fields={"file": ["The file is empty."]})
    dataset = _load(content, file_format)
    rows = _parse(dataset, {})  # headers and row count now; categories by name at run time
    if not rows:
        raise CatalogInvalid(fields={"file": ["The file has no rows of goods."]})
    return ImportJob.objects.create(
        file_name=file_name, file_format=file_format, content=content, rows_total=len(rows),
        actor_kind=actor.kind, actor_id=actor.id,
    )


def import_job_start(*, upload, actor: Actor) -> ImportJob:
    """Record the job and queue its task in one transaction (the outbox sends the task once
    the job row is committed, so the worker always finds it)."""
    with transaction.atomic():
        job = import_job_create(upload=upload, actor=actor)
        outbox.enqueue("storefront.catalog.tasks.run_goods_import", kwargs={"job_id": job.pk})
    return job


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Run (or resume) an import job. Batches already done are skipped, so a task run twice
    or after a worker died imports each batch once."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return job
        job.status = ImportJob.Status.RUNNING
        job.save(update_fields=["status"])
    actor = Actor(kind=job.actor_kind, id=job.actor_id)
    try:
        categories = {}
        for pk, name in Category.objects.values_list("pk", "name"):
            categories.setdefault(name, pk)
        rows = _parse(_load(bytes(job.content), job.file_format), categories)
    except CatalogInvalid as exc:
        job.status = ImportJob.Status.FAILED
        job.message = _error_text(exc)[:300]
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "message", "finished_at"])
        return job
    for index, batch in enumerate(_batches(_groups(rows))):
        if index < job.batches_done:
            continue
        _run_batch(job, batch, actor)
    job.refresh_from_db()
    job.status = ImportJob.Status.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at"])
    return job


def import_job_get(*, job_id: int) -> ImportJob:
    job = ImportJob.objects.defer("content").filter(pk=job_id).first()
    if job is None:
        raise ImportJobNotFound()
    return job
