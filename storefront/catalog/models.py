"""The catalogue of one mall: categories, products, spec dimensions and the SKU matrix.

Money is integer fen. Commission overrides are stored here for the distribution rules:
`inherit` uses the mall's tiers, `none` pays nothing on this item, `fixed` pays a fixed
amount per unit to tier 1, `rates` overrides the per-tier rates (basis points).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from core.actors import ActorFields


class CommissionMode(models.TextChoices):
    INHERIT = "inherit", "Mall default"
    NONE = "none", "No commission"
    FIXED = "fixed", "Fixed amount"
    RATES = "rates", "Own rates per tier"


MAX_TIERS = 3


def validate_tier_rates(value) -> None:
    if not isinstance(value, list) or len(value) > MAX_TIERS:
        raise ValidationError(f"Give at most {MAX_TIERS} tier rates.")
    for rate in value:
        if not isinstance(rate, int) or not 0 <= rate <= 10000:
            raise ValidationError("Each rate is whole basis points between 0 and 10000.")


class CommissionOverride(models.Model):
    commission_mode = models.CharField(
        max_length=8, choices=CommissionMode.choices, default=CommissionMode.INHERIT
    )
    commission_fixed_fen = models.PositiveIntegerField(default=0)
    commission_rates_bp = models.JSONField(
        default=list, blank=True, validators=[validate_tier_rates]
    )

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        if self.commission_mode == CommissionMode.RATES and not self.commission_rates_bp:
            raise ValidationError({"commission_rates_bp": "Give the rate of at least one tier."})
        if self.commission_mode == CommissionMode.FIXED and not self.commission_fixed_fen:
            raise ValidationError({"commission_fixed_fen": "Give the fixed amount."})


class Category(models.Model):
    """Two levels: a top-level category and its children."""

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField(max_length=40)
    icon = models.ImageField(upload_to="categories/", blank=True)
    sort_weight = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-sort_weight", "id"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.parent_id and self.parent.parent_id:
            raise ValidationError({"parent": "Categories have two levels at most."})


class Product(CommissionOverride):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    title = models.CharField(max_length=120)
    subtitle = models.CharField(max_length=200, blank=True)
    description_html = models.TextField(blank=True, help_text="Sanitised rich text.")
    is_on_shelf = models.BooleanField(default=False)
    # The price staff gave for the product: new cells of the spec matrix start at it.
    base_price_fen = models.PositiveIntegerField(default=0)
    is_recommended = models.BooleanField(default=False)
    sort_weight = models.IntegerField(default=0)
    # Denormalised for listing and sorting; kept current by catalog.services.
    min_price_fen = models.PositiveIntegerField(default=0)
    max_price_fen = models.PositiveIntegerField(default=0)
    sales_count = models.PositiveIntegerField(default=0)
    search_text = models.TextField(blank=True, editable=False)
    cover = models.ForeignKey(
        "ProductImage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-sort_weight", "-id"]
        indexes = [
            models.Index(fields=["is_on_shelf", "category", "-sort_weight"]),
            models.Index(fields=["is_on_shelf", "-sales_count"]),
            models.Index(fields=["is_on_shelf", "min_price_fen"]),
            models.Index(fields=["is_on_shelf", "-created_at"]),
        ]

    def __str__(self) -> str:
        return self.title


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="products/")
    thumbnail = models.ImageField(upload_to="products/thumbs/")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


class SpecDimension(models.Model):
    """A spec axis of one product (规格), e.g. 颜色 or 尺码."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="dimensions")
    name = models.CharField(max_length=20)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "name"], name="catalog_dimension_unique")
        ]


class SpecValue(models.Model):
    dimension = models.ForeignKey(SpecDimension, on_delete=models.CASCADE, related_name="values")
    value = models.CharField(max_length=30)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dimension", "value"], name="catalog_value_unique")
        ]


class Sku(CommissionOverride):
    """One cell of the spec matrix. `spec_key` is the ordered value ids, e.g. "12-40"."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="skus")
    spec_key = models.CharField(max_length=100)
    spec_label = models.CharField(max_length=200, help_text="e.g. 颜色:红 / 尺码:M")
    price_fen = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    market_price_fen = models.PositiveIntegerField(default=0)
    # Never negative: the database refuses an oversell even if code had a bug.
    stock = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    weight_g = models.PositiveIntegerField(default=0)
    barcode = models.CharField(max_length=40, blank=True)
    image = models.ImageField(upload_to="skus/", blank=True)
    is_active = models.BooleanField(default=True)
    sales_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "spec_key"], name="catalog_sku_unique"),
            models.CheckConstraint(
                condition=models.Q(stock__gte=0), name="catalog_sku_stock_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(price_fen__gte=1), name="catalog_sku_price_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.title} {self.spec_label}".strip()


class Banner(models.Model):
    """Home-page carousel entries."""

    title = models.CharField(max_length=60)
    image = models.ImageField(upload_to="banners/")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL)
    sort_weight = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-sort_weight", "id"]


class CatalogEvent(ActorFields):
    """Append-only audit trail of staff changes to goods, prices, stock and shelf state.

    Rows survive the product they describe (SET_NULL), so the title is kept in `changes`.
    """

    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    sku = models.ForeignKey(
        Sku, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    action = models.CharField(max_length=32)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]


class ImportJob(ActorFields):
    """One bulk import of goods from a CSV or XLSX file, run by a Celery task.

    The file's bytes are kept on the row (capped at upload), so any worker can read it and a
    task run twice finds the job already finished. Rows are imported in batches, one
    transaction each: a batch with a bad row imports none of its rows; `errors` lists each
    bad row (its line in the file) and why, and `failed_rows` every row left out because
    its batch failed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Finished"
        FAILED = "failed", "Failed"

    file_name = models.CharField(max_length=200)
    file_format = models.CharField(max_length=4)
    content = models.BinaryField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    products_created = models.PositiveIntegerField(default=0)
    products_updated = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    failed_rows = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(self.rows_done * 100 / self.rows_total) if self.rows_total else 0

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
