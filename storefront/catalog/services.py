"""Writes to the catalogue: categories, products and their spec matrix, SKUs, images, banners.

Every public function is one operation in one transaction. Inputs are validated here (the
faces only parse types), refused with a CatalogInvalid naming the fields, and backed by the
database's own constraints. Denormalised product columns (min/max price, search text) are
refreshed in the same transaction as the change that moves them. Changes to prices, stock
and shelf state write a CatalogEvent naming the actor.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import nh3
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Max, Min, ProtectedError

from billing.limits import product_slots_check
from core.actors import Actor
from storefront.catalog import lock_objects
from storefront.catalog.errors import (
    BannerNotFound,
    CatalogInvalid,
    CategoryInUse,
    CategoryNotFound,
    ImageNotFound,
    ProductInUse,
    ProductLimitReached,
    ShelfRefused,
)
from storefront.catalog.images import (
    PRODUCT_SLOTS,
    CheckedImage,
    image_check,
    image_fit,
    rendition_names,
    renditions_make,
)
from storefront.catalog.models import (
    MAX_TIERS,
    Banner,
    CatalogEvent,
    Category,
    CommissionMode,
    Product,
    ProductImage,
    Sku,
    SpecDimension,
    SpecValue,
)

logger = logging.getLogger(__name__)

MAX_DIMENSIONS = 3
MAX_VALUES_PER_DIMENSION = 20
MAX_SKUS_PER_PRODUCT = 400
MAX_IMAGES_PER_PRODUCT = 20
MAX_PRICE_FEN = 99_999_999  # ¥999,999.99
MAX_STOCK = 9_999_999
MAX_WEIGHT_G = 1_000_000
MAX_SORT_WEIGHT = 1_000_000
MAX_DESCRIPTION_CHARS = 50_000

DESCRIPTION_TAGS = {
    "p", "br", "hr", "strong", "b", "em", "i", "u", "s", "span", "h2", "h3", "h4",
    "ul", "ol", "li", "blockquote", "a", "img",
}
DESCRIPTION_ATTRIBUTES = {
    "img": {"src", "alt", "width", "height"},
    "a": {"href", "title"},
}


class Unset:
    """Marks a keyword argument the caller did not give (a partial update leaves it alone)."""

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = Unset()


@dataclass(frozen=True)
class SpecValueInput:
    value: str
    id: int | None = None


@dataclass(frozen=True)
class SpecDimensionInput:
    """A spec axis as staff give it. Give `id` to rename an existing axis or value; without
    it an axis is matched by name and a value by its text, so re-sending the same names
    keeps the same rows (and so the same SKUs)."""

    name: str
    values: Sequence[SpecValueInput | str]
    id: int | None = None


@dataclass(frozen=True)
class CommissionInput:
    mode: str
    fixed_fen: int = 0
    rates_bp: Sequence[int] = ()


@dataclass(frozen=True)
class MatrixChange:
    kept: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)
    deactivated: list[int] = field(default_factory=list)
    reactivated: list[int] = field(default_factory=list)


# --- validation helpers -------------------------------------------------------------------


class _Fields:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise CatalogInvalid(fields=self.errors)


def _text(errors: _Fields, name: str, value, *, max_length: int, required: bool = True) -> str:
    if not isinstance(value, str):
        errors.add(name, "Enter text.")
        return ""
    value = value.strip()
    if required and not value:
        errors.add(name, "This field is required.")
    elif len(value) > max_length:
        errors.add(name, f"At most {max_length} characters.")
    return value


def _whole(errors: _Fields, name: str, value, *, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(name, "Enter a whole number.")
        return minimum
    if value < minimum:
        errors.add(name, f"Must be at least {minimum}.")
    elif value > maximum:
        errors.add(name, f"Must be at most {maximum}.")
    return value


def _price(errors: _Fields, name: str, value) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value < 1:
        errors.add(name, "The price must be at least 1 fen.")
        return 1
    return _whole(errors, name, value, minimum=1, maximum=MAX_PRICE_FEN)


def _stock(errors: _Fields, name: str, value) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        errors.add(name, "Stock cannot be negative.")
        return 0
    return _whole(errors, name, value, minimum=0, maximum=MAX_STOCK)


def _commission(errors: _Fields, commission: CommissionInput) -> dict:
    """The three commission columns for `commission`, or errors under their names."""
    if commission.mode not in CommissionMode.values:
        errors.add("commission_mode", f"Choose one of: {', '.join(CommissionMode.values)}.")
        return {}
    columns = {"commission_mode": commission.mode, "commission_fixed_fen": 0,
               "commission_rates_bp": []}
    if commission.mode == CommissionMode.FIXED:
        columns["commission_fixed_fen"] = _whole(
            errors, "commission_fixed_fen", commission.fixed_fen, minimum=1, maximum=MAX_PRICE_FEN
        )
    elif commission.mode == CommissionMode.RATES:
        rates = list(commission.rates_bp or [])
        if not rates:
            errors.add("commission_rates_bp", "Give the rate of at least one tier.")
        elif len(rates) > MAX_TIERS:
            errors.add("commission_rates_bp", f"Give at most {MAX_TIERS} tier rates.")
        elif any(isinstance(r, bool) or not isinstance(r, int) or not 0 <= r <= 10000
                 for r in rates):
            errors.add(
                "commission_rates_bp", "Each rate is whole basis points between 0 and 10000."
            )
        columns["commission_rates_bp"] = rates
    return columns


def description_clean(html: str) -> str:
    """Sanitise staff-written rich text: basic formatting, links and http(s) images only.
    Scripts, styles, event handlers and javascript:/data: URLs are removed."""
    return nh3.clean(
        html,
        tags=DESCRIPTION_TAGS,
        clean_content_tags={"script", "style"},
        attributes=DESCRIPTION_ATTRIBUTES,
        url_schemes={"http", "https"},
        url_relative="deny",
        link_rel="noopener noreferrer nofollow",
    )


def _description(errors: _Fields, value) -> str:
    if not isinstance(value, str):
        errors.add("description_html", "Enter text.")
        return ""
    if len(value) > MAX_DESCRIPTION_CHARS:
        errors.add("description_html", f"At most {MAX_DESCRIPTION_CHARS} characters.")
        return ""
    return description_clean(value)


def _event(*, action: str, product: Product | None, actor: Actor | None = None,
           sku: Sku | None = None, changes: dict | None = None) -> None:
    actor = actor or Actor.system()
    CatalogEvent.objects.create(
        action=action,
        product=product,
        sku=sku,
        actor_kind=actor.kind,
        actor_id=actor.id,
        changes=changes or {},
    )


# --- categories ---------------------------------------------------------------------------


def _category_parent(errors: _Fields, parent_id, *, category: Category | None) -> Category | None:
    if parent_id is None:
        return None
    parent = Category.objects.filter(pk=parent_id).first()
    if parent is None:
        errors.add("parent_id", "No such category.")
        return None
    if category is not None and parent.pk == category.pk:
        errors.add("parent_id", "A category cannot be its own parent.")
    elif parent.parent_id is not None:
        errors.add("parent_id", "Categories have two levels at most.")
    elif category is not None and category.children.exists():
        errors.add("parent_id", "This category has sub-categories, so it must stay top-level.")
    return parent


def _stored_icon(upload) -> str:
    icon = image_fit(checked=image_check(upload=upload, field="icon"), size=(200, 200))
    return default_storage.save(f"categories/{icon.name}", icon)


def category_create(
    *, name: str, parent_id: int | None = None, sort_weight: int = 0, is_active: bool = True,
    icon=None,
) -> Category:
    errors = _Fields()
    name = _text(errors, "name", name, max_length=40)
    sort_weight = _whole(errors, "sort_weight", sort_weight,
                         minimum=-MAX_SORT_WEIGHT, maximum=MAX_SORT_WEIGHT)
    parent = _category_parent(errors, parent_id, category=None)
    errors.raise_if_any()
    icon_name = _stored_icon(icon) if icon is not None else ""
    try:
        with transaction.atomic():
            return Category.objects.create(
                name=name, parent=parent, sort_weight=sort_weight, is_active=bool(is_active),
                icon=icon_name,
            )
    except BaseException:
        _discard(icon_name)
        raise


def category_update(
    *, category_id: int, name: str = UNSET, parent_id: int | None = UNSET,
    sort_weight: int = UNSET, is_active: bool = UNSET, icon=UNSET,
) -> Category:
    icon_name = _stored_icon(icon) if icon not in (UNSET, None) else ""
    try:
        return _category_update(category_id=category_id, name=name, parent_id=parent_id,
                                sort_weight=sort_weight, is_active=is_active,
                                icon=icon_name if icon is not UNSET else UNSET)
    except BaseException:
        _discard(icon_name)
        raise


def _category_update(*, category_id, name, parent_id, sort_weight, is_active, icon) -> Category:
    with transaction.atomic():
        category = lock_objects.category_lock(category_id=category_id)
        if category is None:
            raise CategoryNotFound()
        errors = _Fields()
        update_fields = []
        if name is not UNSET:
            category.name = _text(errors, "name", name, max_length=40)
            update_fields.append("name")
        if parent_id is not UNSET:
            category.parent = _category_parent(errors, parent_id, category=category)
            update_fields.append("parent")
        if sort_weight is not UNSET:
            category.sort_weight = _whole(errors, "sort_weight", sort_weight,
                                          minimum=-MAX_SORT_WEIGHT, maximum=MAX_SORT_WEIGHT)
            update_fields.append("sort_weight")
        if is_active is not UNSET:
            category.is_active = bool(is_active)
            update_fields.append("is_active")
        errors.raise_if_any()
        if icon is not UNSET:
            category.icon = icon
            update_fields.append("icon")
        if update_fields:
            category.save(update_fields=update_fields)
        return category


def category_delete(*, category_id: int) -> None:
    """Refused (409) while the category holds products or sub-categories: products are
    moved first, never deleted along with a category."""
    with transaction.atomic():
        category = lock_objects.category_lock(category_id=category_id)
        if category is None:
            raise CategoryNotFound()
        if category.products.exists():
            raise CategoryInUse(
                "Move or delete this category's products first.",
                fields={"category": ["The category still holds products."]},
            )
        if category.children.exists():
            raise CategoryInUse(
                "Delete or move this category's sub-categories first.",
                fields={"category": ["The category still has sub-categories."]},
            )
        category.delete()


# --- the spec matrix ----------------------------------------------------------------------


@dataclass
class _CleanDimension:
    name: str
    values: list[SpecValueInput]
    id: int | None


def _clean_dimensions(errors: _Fields, dimensions) -> list[_CleanDimension]:
    if not isinstance(dimensions, list | tuple):
        errors.add("dimensions", "Give a list of spec dimensions.")
        return []
    if len(dimensions) > MAX_DIMENSIONS:
        errors.add("dimensions", f"At most {MAX_DIMENSIONS} spec dimensions.")
        return []
    cleaned: list[_CleanDimension] = []
    names: set[str] = set()
    cells = 1
    for number, dimension in enumerate(dimensions, start=1):
        name = dimension.name.strip() if isinstance(dimension.name, str) else ""
        label = f"Dimension {number}"
        if not name:
            errors.add("dimensions", f"{label}: give a name.")
        elif len(name) > 20:
            errors.add("dimensions", f"{label}: the name has at most 20 characters.")
        elif name in names:
            errors.add("dimensions", f"{label}: the name {name!r} is used twice.")
        names.add(name)
        values: list[SpecValueInput] = []
        seen: set[str] = set()
        for raw in dimension.values:
            item = SpecValueInput(value=raw) if isinstance(raw, str) else raw
            text = item.value.strip() if isinstance(item.value, str) else ""
            if not text:
                errors.add("dimensions", f"{label}: a value is empty.")
            elif len(text) > 30:
                errors.add("dimensions", f"{label}: a value has at most 30 characters.")
            elif text in seen:
                errors.add("dimensions", f"{label}: the value {text!r} is used twice.")
            seen.add(text)
            values.append(SpecValueInput(value=text, id=item.id))
        if not values:
            errors.add("dimensions", f"{label}: give at least one value.")
        elif len(values) > MAX_VALUES_PER_DIMENSION:
            errors.add("dimensions", f"{label}: at most {MAX_VALUES_PER_DIMENSION} values.")
        cells *= max(len(values), 1)
        cleaned.append(_CleanDimension(name=name, values=values, id=dimension.id))
    if cells > MAX_SKUS_PER_PRODUCT:
        errors.add("dimensions", f"At most {MAX_SKUS_PER_PRODUCT} combinations per product.")
    return cleaned


def _key_ids(spec_key: str) -> frozenset[int] | None:
    if spec_key == "":
        return frozenset()
    try:
        return frozenset(int(part) for part in spec_key.split("-"))
    except ValueError:
        return None


def _claim(errors: _Fields, wanted, existing: list, *, text_of, label: str) -> list:
    """Match each wanted item to an existing row: by id first, then by text. Returns one
    row (or None for a new one) per wanted item."""
    by_id = {row.pk: row for row in existing}
    claimed: list = [None] * len(wanted)
    used: set[int] = set()
    for index, item in enumerate(wanted):
        if item.id is None:
            continue
        row = by_id.get(item.id)
        if row is None or row.pk in used:
            errors.add("dimensions", f"{label}: unknown id {item.id}.")
            continue
        claimed[index] = row
        used.add(row.pk)
    by_text = {text_of(row): row for row in existing}
    for index, item in enumerate(wanted):
        if item.id is not None:
            continue
        row = by_text.get(text_of(item))
        if row is not None and row.pk not in used:
            claimed[index] = row
            used.add(row.pk)
    return claimed


def _sync_rows(model, rows_wanted: list[tuple[Any, str, int]], *, text_field: str,
               parent: dict) -> list:
    """Rename/reorder claimed rows and create new ones, without tripping the unique
    (parent, text) constraint when two rows swap names. `rows_wanted` holds
    (existing row or None, text, position)."""
    renamed = [row for row, text, _ in rows_wanted
               if row is not None and getattr(row, text_field) != text]
    for row in renamed:
        setattr(row, text_field, f"~{row.pk}")
    if renamed:
        model.objects.bulk_update(renamed, [text_field])
    changed, result, created = [], [], []
    for row, text, position in rows_wanted:
        if row is None:
            row = model(**parent, **{text_field: text}, position=position)
            created.append(row)
        elif getattr(row, text_field) != text or row.position != position:
            setattr(row, text_field, text)
            row.position = position
            changed.append(row)
        result.append(row)
    if changed:
        model.objects.bulk_update(changed, [text_field, "position"])
    if created:
        model.objects.bulk_create(created)
    return result


def _matrix_sync(
    *, product: Product, dimensions: list[_CleanDimension], new_price_fen: int,
    new_market_price_fen: int = 0, new_stock: int = 0,
) -> MatrixChange:
    """Make the product's dimensions and SKUs match `dimensions` (the product row is locked).

    A SKU is identified by the *set* of its value ids, so reordering dimensions keeps it
    (its spec_key is rewritten in the new order). Existing combinations keep price and
    stock; new ones start at `new_price_fen`; vanished ones are deactivated, never deleted,
    since orders may refer to them. A combination that vanished earlier and is back is
    reactivated; one that staff switched off while it existed stays off.
    """
    errors = _Fields()
    existing_dims = list(SpecDimension.objects.filter(product=product).prefetch_related("values"))
    existing_values = {dim.pk: list(dim.values.all()) for dim in existing_dims}
    previous_cells = {
        frozenset(value.pk for value in combo)
        for combo in itertools.product(*(existing_values[dim.pk] for dim in existing_dims))
    }

    claimed_dims = _claim(errors, dimensions, existing_dims, text_of=lambda row: row.name,
                          label="Dimensions")
    value_claims = []
    for number, (wanted, dim) in enumerate(zip(dimensions, claimed_dims, strict=True), start=1):
        pool = existing_values.get(dim.pk, []) if dim is not None else []
        value_claims.append(_claim(errors, wanted.values, pool, text_of=lambda row: row.value,
                                   label=f"Dimension {number}"))
    errors.raise_if_any()

    kept_dim_ids = [dim.pk for dim in claimed_dims if dim is not None]
    SpecDimension.objects.filter(product=product).exclude(pk__in=kept_dim_ids).delete()
    dims = _sync_rows(
        SpecDimension,
        [(dim, wanted.name, position)
         for position, (wanted, dim) in enumerate(zip(dimensions, claimed_dims, strict=True))],
        text_field="name", parent={"product": product},
    )
    ordered_values: list[list[SpecValue]] = []
    for dim, wanted, claims in zip(dims, dimensions, value_claims, strict=True):
        kept_value_ids = [row.pk for row in claims if row is not None]
        SpecValue.objects.filter(dimension=dim).exclude(pk__in=kept_value_ids).delete()
        ordered_values.append(_sync_rows(
            SpecValue,
            [(row, item.value, position)
             for position, (item, row) in enumerate(zip(wanted.values, claims, strict=True))],
            text_field="value", parent={"dimension": dim},
        ))

    skus = lock_objects.product_skus_lock(product_id=product.pk)
    by_cell: dict[frozenset[int], Sku] = {}
    for sku in skus:
        cell = _key_ids(sku.spec_key)
        if cell is not None:
            by_cell.setdefault(cell, sku)
    change = MatrixChange()
    touched: list[Sku] = []
    created: list[Sku] = []
    matched: set[int] = set()
    for combo in itertools.product(*ordered_values):
        cell = frozenset(value.pk for value in combo)
        key = "-".join(str(value.pk) for value in combo)
        label = " / ".join(f"{dim.name}:{value.value}" for dim, value in
                           zip(dims, combo, strict=True))
        sku = by_cell.get(cell)
        if sku is None:
            created.append(Sku(product=product, spec_key=key, spec_label=label,
                               price_fen=new_price_fen, market_price_fen=new_market_price_fen,
                               stock=new_stock))
            continue
        matched.add(sku.pk)
        change.kept.append(sku.pk)
        if not sku.is_active and cell not in previous_cells:
            sku.is_active = True
            change.reactivated.append(sku.pk)
            touched.append(sku)
        elif sku.spec_key != key or sku.spec_label != label:
            touched.append(sku)
        sku.spec_key, sku.spec_label = key, label
    vanished = [sku for sku in skus if sku.pk not in matched and sku.is_active]
    if vanished:
        Sku.objects.filter(pk__in=[sku.pk for sku in vanished]).update(is_active=False)
        change.deactivated.extend(sku.pk for sku in vanished)
    if touched:
        Sku.objects.bulk_update(touched, ["spec_key", "spec_label", "is_active"])
    if created:
        if new_price_fen < 1:
            raise CatalogInvalid(
                fields={"base_price_fen": ["Give a price for the new combinations."]}
            )
        Sku.objects.bulk_create(created)
        change.added.extend(sku.pk for sku in created)
    return change


def _cell_exists(product: Product, sku: Sku) -> bool:
    """Whether the SKU's value ids still form a combination of the product's dimensions."""
    cell = _key_ids(sku.spec_key)
    if cell is None:
        return False
    values = dict(SpecValue.objects.filter(dimension__product=product)
                  .values_list("pk", "dimension_id"))
    dimension_count = SpecDimension.objects.filter(product=product).count()
    return (cell <= values.keys() and len(cell) == dimension_count
            and len({values[pk] for pk in cell}) == dimension_count)


def _product_refresh(product: Product, *, actor: Actor | None = None) -> None:
    """Recompute the denormalised columns; an on-shelf product left without an active SKU
    goes off the shelf in the same transaction."""
    prices = product.skus.filter(is_active=True).aggregate(low=Min("price_fen"),
                                                           high=Max("price_fen"))
    values = SpecValue.objects.filter(dimension__product=product).order_by(
        "dimension__position", "position", "id").values_list("value", flat=True)
    product.min_price_fen = prices["low"] or 0
    product.max_price_fen = prices["high"] or 0
    parts = [product.title, product.subtitle, *values]
    product.search_text = " ".join(part for part in parts if part).lower()
    fields = ["min_price_fen", "max_price_fen", "search_text", "updated_at"]
    if product.is_on_shelf and prices["low"] is None:
        product.is_on_shelf = False
        fields.append("is_on_shelf")
        _event(action="shelf_off", product=product, actor=actor,
               changes={"reason": "no active SKU"})
    product.save(update_fields=fields)


# --- products -----------------------------------------------------------------------------


def _category_for_product(errors: _Fields, category_id) -> Category | None:
    if isinstance(category_id, bool) or not isinstance(category_id, int):
        errors.add("category_id", "Choose a category.")
        return None
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        errors.add("category_id", "No such category.")
    return category


def product_create(
    *,
    title: str,
    category_id: int,
    base_price_fen: int,
    subtitle: str = "",
    description_html: str = "",
    dimensions: Sequence[SpecDimensionInput] = (),
    market_price_fen: int = 0,
    initial_stock: int = 0,
    is_recommended: bool = False,
    sort_weight: int = 0,
    commission: CommissionInput | None = None,
    actor: Actor | None = None,
) -> Product:
    """Create a product off the shelf, with one SKU per combination of its dimension values
    (one SKU with spec_key "" when it has none), each at `base_price_fen`."""
    errors = _Fields()
    title = _text(errors, "title", title, max_length=120)
    subtitle = _text(errors, "subtitle", subtitle, max_length=200, required=False)
    description = _description(errors, description_html)
    category = _category_for_product(errors, category_id)
    base_price_fen = _price(errors, "base_price_fen", base_price_fen)
    market_price_fen = _whole(errors, "market_price_fen", market_price_fen,
                              minimum=0, maximum=MAX_PRICE_FEN)
    initial_stock = _stock(errors, "initial_stock", initial_stock)
    sort_weight = _whole(errors, "sort_weight", sort_weight,
                         minimum=-MAX_SORT_WEIGHT, maximum=MAX_SORT_WEIGHT)
    clean_dims = _clean_dimensions(errors, list(dimensions))
    commission_columns = _commission(errors, commission) if commission is not None else {}
    errors.raise_if_any()
    with transaction.atomic():
        # Under a per-mall lock when the plan has a limit: two creations racing for the
        # last slot cannot both pass the count.
        product_slots_check(error=ProductLimitReached)
        product = Product.objects.create(
            category=category, title=title, subtitle=subtitle, description_html=description,
            base_price_fen=base_price_fen, is_recommended=bool(is_recommended),
            sort_weight=sort_weight, **commission_columns,
        )
        change = _matrix_sync(product=product, dimensions=clean_dims,
                              new_price_fen=base_price_fen,
                              new_market_price_fen=market_price_fen, new_stock=initial_stock)
        _product_refresh(product, actor=actor)
        _event(action="product_created", product=product, actor=actor,
               changes={"title": title, "skus": change.added, "price_fen": base_price_fen,
                        "stock": initial_stock})
    return product


def product_update(
    *,
    product_id: int,
    title: str = UNSET,
    subtitle: str = UNSET,
    category_id: int = UNSET,
    description_html: str = UNSET,
    base_price_fen: int = UNSET,
    dimensions: Sequence[SpecDimensionInput] = UNSET,
    is_recommended: bool = UNSET,
    sort_weight: int = UNSET,
    commission: CommissionInput = UNSET,
    actor: Actor | None = None,
) -> tuple[Product, MatrixChange | None]:
    """Change a product; with `dimensions`, regenerate its SKU matrix (see _matrix_sync).
    New combinations are priced at `base_price_fen` (given now, or the one given before)."""
    errors = _Fields()
    changes: dict[str, Any] = {}
    values: dict[str, Any] = {}
    if title is not UNSET:
        values["title"] = _text(errors, "title", title, max_length=120)
    if subtitle is not UNSET:
        values["subtitle"] = _text(errors, "subtitle", subtitle, max_length=200, required=False)
    if description_html is not UNSET:
        values["description_html"] = _description(errors, description_html)
    if category_id is not UNSET:
        values["category"] = _category_for_product(errors, category_id)
    if base_price_fen is not UNSET:
        values["base_price_fen"] = _price(errors, "base_price_fen", base_price_fen)
    if is_recommended is not UNSET:
        values["is_recommended"] = bool(is_recommended)
    if sort_weight is not UNSET:
        values["sort_weight"] = _whole(errors, "sort_weight", sort_weight,
                                       minimum=-MAX_SORT_WEIGHT, maximum=MAX_SORT_WEIGHT)
    if commission is not UNSET:
        values.update(_commission(errors, commission))
    clean_dims = _clean_dimensions(errors, list(dimensions)) if dimensions is not UNSET else None
    errors.raise_if_any()

    with transaction.atomic():
        product, _ = lock_objects.product_with_skus_lock(product_id=product_id)
        for name, value in values.items():
            old = getattr(product, name)
            if old != value:
                changes[name] = "changed" if name == "description_html" else [
                    old.pk if name == "category" else old,
                    value.pk if name == "category" else value,
                ]
            setattr(product, name, value)
        if values:
            product.save(update_fields=[*values, "updated_at"])
        change = None
        if clean_dims is not None:
            change = _matrix_sync(product=product, dimensions=clean_dims,
                                  new_price_fen=product.base_price_fen)
            changes["matrix"] = {"added": change.added, "deactivated": change.deactivated,
                                 "reactivated": change.reactivated}
        _product_refresh(product, actor=actor)
        if changes:
            _event(action="product_updated", product=product, actor=actor, changes=changes)
    return product, change


def product_delete(*, product_id: int, actor: Actor | None = None) -> None:
    """Delete a product no order refers to; otherwise 409 (take it off the shelf instead).
    Image files stay on disk: SKU images and order snapshots may point at them."""
    with transaction.atomic():
        product, _ = lock_objects.product_with_skus_lock(product_id=product_id)
        title = product.title
        try:
            with transaction.atomic():
                product.delete()
        except ProtectedError as exc:
            raise ProductInUse() from exc
        _event(action="product_deleted", product=None, actor=actor,
               changes={"product_id": product_id, "title": title})


def product_set_shelf(*, product_id: int, on_shelf: bool, actor: Actor | None = None) -> Product:
    """Put a product on or off the shelf. On-shelf needs an active SKU with a price."""
    with transaction.atomic():
        product = lock_objects.product_lock(product_id=product_id)
        if bool(on_shelf) == product.is_on_shelf:
            return product
        if on_shelf:
            active = product.skus.filter(is_active=True)
            if not active.exists():
                raise ShelfRefused(
                    "Add at least one active SKU before putting this product on the shelf.",
                    fields={"on_shelf": ["The product has no active SKU."]},
                )
            if active.filter(price_fen__lt=1).exists() or product.min_price_fen < 1:
                raise ShelfRefused(
                    "Give every active SKU a price before putting this product on the shelf.",
                    fields={"on_shelf": ["An active SKU has no price."]},
                )
        product.is_on_shelf = bool(on_shelf)
        product.save(update_fields=["is_on_shelf", "updated_at"])
        _event(action="shelf_on" if on_shelf else "shelf_off", product=product, actor=actor)
    return product


# --- SKUs ---------------------------------------------------------------------------------


def sku_update(
    *,
    product_id: int,
    sku_id: int,
    price_fen: int = UNSET,
    market_price_fen: int = UNSET,
    stock: int = UNSET,
    weight_g: int = UNSET,
    barcode: str = UNSET,
    image_id: int | None = UNSET,
    is_active: bool = UNSET,
    commission: CommissionInput = UNSET,
    actor: Actor | None = None,
) -> Sku:
    """Change one cell of the matrix. `image_id` picks one of the product's gallery images
    (None clears it). Stock is set absolutely, under the SKU's row lock."""
    errors = _Fields()
    values: dict[str, Any] = {}
    if price_fen is not UNSET:
        values["price_fen"] = _price(errors, "price_fen", price_fen)
    if market_price_fen is not UNSET:
        values["market_price_fen"] = _whole(errors, "market_price_fen", market_price_fen,
                                            minimum=0, maximum=MAX_PRICE_FEN)
    if stock is not UNSET:
        values["stock"] = _stock(errors, "stock", stock)
    if weight_g is not UNSET:
        values["weight_g"] = _whole(errors, "weight_g", weight_g, minimum=0,
                                    maximum=MAX_WEIGHT_G)
    if barcode is not UNSET:
        values["barcode"] = _text(errors, "barcode", barcode, max_length=40, required=False)
    if is_active is not UNSET:
        values["is_active"] = bool(is_active)
    if commission is not UNSET:
        values.update(_commission(errors, commission))
    errors.raise_if_any()

    with transaction.atomic():
        product, sku = lock_objects.sku_lock(product_id=product_id, sku_id=sku_id)
        if image_id is not UNSET:
            if image_id is None:
                values["image"] = ""
            else:
                picked = ProductImage.objects.filter(pk=image_id, product=product).first()
                if picked is None:
                    raise CatalogInvalid(
                        fields={"image_id": ["Pick one of this product's images."]}
                    )
                values["image"] = picked.image.name
        if values.get("is_active") and not sku.is_active and not _cell_exists(product, sku):
            raise CatalogInvalid(
                "This SKU's combination no longer exists in the product's specs.",
                fields={"is_active": ["This SKU's combination is gone."]},
            )
        changes = {}
        for name, value in values.items():
            old = getattr(sku, name)
            old = old.name if name == "image" else old
            if old != value:
                changes[name] = [old, value]
            setattr(sku, name, value)
        if changes:
            sku.save(update_fields=list(values))
            _product_refresh(product, actor=actor)
            _event(action="sku_updated", product=product, sku=sku, actor=actor,
                   changes=changes)
    return sku


# --- images -------------------------------------------------------------------------------


def _store_checked(checked: CheckedImage, *, folder: str) -> str:
    file = checked.as_file()
    return default_storage.save(f"{folder}/{file.name}", file)


def _discard(*names: str) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def product_image_add(*, product_id: int, upload, actor: Actor | None = None) -> ProductImage:
    """Store the original, a 400×400 thumbnail (the API's) and the renditions the shop's
    pages show (images.PRODUCT_SLOTS); the first image becomes the cover. Files are written
    before the transaction and removed again if it fails."""
    checked = image_check(upload=upload)
    original = _store_checked(checked, folder="products")
    thumb = image_fit(checked=checked)
    thumbnail = default_storage.save(f"products/thumbs/{thumb.name}", thumb)
    try:
        renditions_make(original, PRODUCT_SLOTS)
        with transaction.atomic():
            product = lock_objects.product_lock(product_id=product_id)
            gallery = product.images.aggregate(count=Count("id"), last=Max("position"))
            if gallery["count"] >= MAX_IMAGES_PER_PRODUCT:
                raise CatalogInvalid(
                    fields={"image": [f"At most {MAX_IMAGES_PER_PRODUCT} images per product."]}
                )
            position = 0 if gallery["last"] is None else gallery["last"] + 1
            image = ProductImage.objects.create(
                product=product, image=original, thumbnail=thumbnail, position=position
            )
            if product.cover_id is None:
                product.cover = image
                product.save(update_fields=["cover", "updated_at"])
    except BaseException:
        _discard(original, thumbnail, *rendition_names(original))
        raise
    return image


def product_image_delete(*, product_id: int, image_id: int, actor: Actor | None = None) -> None:
    """Remove an image from the gallery; the next one becomes the cover if needed. The
    files stay: SKU images and order snapshots may point at them."""
    with transaction.atomic():
        product = lock_objects.product_lock(product_id=product_id)
        image = product.images.filter(pk=image_id).first()
        if image is None:
            raise ImageNotFound()
        image.delete()
        if product.cover_id == image_id:
            product.cover = product.images.order_by("position", "id").first()
            product.save(update_fields=["cover", "updated_at"])


# --- banners ------------------------------------------------------------------------------


def _banner_product(errors: _Fields, product_id) -> Product | None:
    if product_id is None:
        return None
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        errors.add("product_id", "No such product.")
    return product


def banner_create(
    *, title: str, image, product_id: int | None = None, sort_weight: int = 0,
    is_active: bool = True,
) -> Banner:
    errors = _Fields()
    title = _text(errors, "title", title, max_length=60)
    product = _banner_product(errors, product_id)
    sort_weight = _whole(errors, "sort_weight", sort_weight,
                         minimum=-MAX_SORT_WEIGHT, maximum=MAX_SORT_WEIGHT)
    errors.raise_if_any()
    stored = _store_checked(image_check(upload=image), folder="banners")
    try:
        with transaction.atomic():
            return Banner.objects.create(title=title, image=stored, product=product,
                                         sort_weight=sort_weight, is_active=bool(is_active))
    except BaseException:
        _discard(stored)
        raise


def banner_update(
    *, banner_id: int, title: str = UNSET, image=UNSET, product_id: int | None = UNSET,
    sort_weight: int = UNSET, is_active: bool = UNSET,
) -> Banner:
    errors = _Fields()
    values: dict[str, Any] = {}
    if title is not UNSET:
        values["title"] = _text(errors, "title", title, max_length=60)
    if product_id is not UNSET:
        values["product"] = _banner_product(errors, product_id)
    if sort_weight is not UNSET:
        values["sort_weight"] = _whole(errors, "sort_weight", sort_weight,
                                       minimum=-MAX_SORT_WEIGHT, maximum=MAX_SORT_WEIGHT)
    if is_active is not UNSET:
        values["is_active"] = bool(is_active)
    errors.raise_if_any()
    stored = ""
    if image is not UNSET:
        stored = _store_checked(image_check(upload=image), folder="banners")
        values["image"] = stored
    try:
        with transaction.atomic():
            banner = Banner.objects.select_for_update().filter(pk=banner_id).first()
            if banner is None:
                raise BannerNotFound()
            for name, value in values.items():
                setattr(banner, name, value)
            if values:
                banner.save(update_fields=list(values))
            return banner
    except BaseException:
        _discard(stored)
        raise


def banner_delete(*, banner_id: int) -> None:
    with transaction.atomic():
        deleted, _ = Banner.objects.filter(pk=banner_id).delete()
        if not deleted:
            raise BannerNotFound()


# --- staff console operations -------------------------------------------------------------


def products_set_shelf(*, product_ids: Sequence[int], on_shelf: bool,
                       actor: Actor | None = None) -> list[Product]:
    """Put several products on or off the shelf at once: all of them or none (one refused
    product refuses the whole action, naming it)."""
    ids = sorted({pk for pk in product_ids if isinstance(pk, int) and not isinstance(pk, bool)})
    if not ids:
        raise CatalogInvalid("Select at least one product.",
                             fields={"product_ids": ["Select at least one product."]})
    if len(ids) > 500:
        raise CatalogInvalid(fields={"product_ids": ["At most 500 products at once."]})
    with transaction.atomic():
        found = set(Product.objects.filter(pk__in=ids).values_list("pk", flat=True))
        missing = [pk for pk in ids if pk not in found]
        if missing:
            raise CatalogInvalid(fields={"product_ids": [
                f"No such product: {', '.join(map(str, missing))}."]})
        changed = []
        for pk in ids:
            try:
                changed.append(product_set_shelf(product_id=pk, on_shelf=on_shelf, actor=actor))
            except ShelfRefused as exc:
                title = Product.objects.filter(pk=pk).values_list("title", flat=True).first()
                raise ShelfRefused(f"{title}: {exc.message}", fields=exc.fields) from exc
    return changed


def product_images_reorder(*, product_id: int, image_ids: Sequence[int],
                           actor: Actor | None = None) -> list[ProductImage]:
    """Give the gallery a new order; `image_ids` must be exactly the product's images. The
    first becomes the cover."""
    with transaction.atomic():
        product = lock_objects.product_lock(product_id=product_id)
        images = {image.pk: image for image in product.images.all()}
        wanted = list(image_ids)
        if sorted(wanted) != sorted(images) or len(set(wanted)) != len(wanted):
            raise CatalogInvalid(fields={"image_ids": [
                "Give every image of this product exactly once."]})
        ordered = []
        for position, pk in enumerate(wanted):
            image = images[pk]
            image.position = position
            ordered.append(image)
        if ordered:
            ProductImage.objects.bulk_update(ordered, ["position"])
            if product.cover_id != ordered[0].pk:
                product.cover = ordered[0]
                product.save(update_fields=["cover", "updated_at"])
        _event(action="images_reordered", product=product, actor=actor,
               changes={"order": wanted})
    return ordered


@dataclass(frozen=True)
class SkuCellInput:
    """One row of the editor's SKU grid: the cell named by its values' texts, in dimension
    order (() for a product without specs), and what staff typed for it."""

    values: tuple[str, ...]
    price_fen: int
    stock: int
    market_price_fen: int = 0
    commission: CommissionInput | None = None
    is_active: bool = True


def _cell_label(values: Sequence[str]) -> str:
    return " / ".join(values) or "—"


def _clean_cells(errors: _Fields, cells: Sequence[SkuCellInput]) -> list[tuple[SkuCellInput,
                                                                                dict]]:
    cleaned = []
    for cell in cells:
        label = _cell_label(cell.values)
        row = _Fields()
        values = {
            "price_fen": _price(row, "price", cell.price_fen),
            "stock": _stock(row, "stock", cell.stock),
            "market_price_fen": _whole(row, "market price", cell.market_price_fen,
                                       minimum=0, maximum=MAX_PRICE_FEN),
            "is_active": bool(cell.is_active),
        }
        if cell.commission is not None:
            values.update(_commission(row, cell.commission))
        for name, messages in row.errors.items():
            for message in messages:
                errors.add("skus", f"{label}: {name}: {message}")
        cleaned.append((cell, values))
    return cleaned


def _cells_apply(product: Product, cleaned: list[tuple[SkuCellInput, dict]]) -> list[int]:
    """Write typed values onto the product's SKUs, found by their values' texts (a SKU
    staff switched off is a cell of the grid too, and may be switched on again here)."""
    value_ids = {
        (dimension_name, value): pk
        for pk, dimension_name, value in SpecValue.objects.filter(dimension__product=product)
        .values_list("pk", "dimension__name", "value")
    }
    names = list(SpecDimension.objects.filter(product=product).order_by("position", "id")
                 .values_list("name", flat=True))
    skus: dict[frozenset[int] | None, Sku] = {}
    for sku in lock_objects.product_skus_lock(product_id=product.pk):
        if sku.is_active or _key_ids(sku.spec_key) not in skus:
            skus[_key_ids(sku.spec_key)] = sku
    errors = _Fields()
    touched = []
    for cell, values in cleaned:
        if len(cell.values) != len(names):
            errors.add("skus", f"{_cell_label(cell.values)}: not a combination of the specs.")
            continue
        ids = [value_ids.get((name, value.strip())) for name, value in
               zip(names, cell.values, strict=True)]
        sku = skus.get(frozenset(ids)) if None not in ids else None
        if sku is None:
            errors.add("skus", f"{_cell_label(cell.values)}: not a combination of the specs.")
            continue
        for name, value in values.items():
            setattr(sku, name, value)
        touched.append(sku)
    errors.raise_if_any()
    if touched:
        Sku.objects.bulk_update(touched, sorted({name for _, values in cleaned
                                                 for name in values}))
    return [sku.pk for sku in touched]


def product_cells_set(*, product: Product, cells: Sequence[SkuCellInput],
                      only_listed: bool = False, actor: Actor | None = None) -> list[int]:
    """Write the typed figures of `cells` onto the product's SKUs (call inside the
    transaction that synced its matrix). With `only_listed`, the active SKUs no cell names
    are switched off (an import file lists a product's whole matrix)."""
    errors = _Fields()
    cleaned = _clean_cells(errors, cells)
    errors.raise_if_any()
    touched = _cells_apply(product, cleaned)
    if only_listed:
        Sku.objects.filter(product=product, is_active=True).exclude(pk__in=touched).update(
            is_active=False)
    _product_refresh(product, actor=actor)
    if touched:
        _event(action="skus_updated", product=product, actor=actor, changes={"skus": touched})
    return touched


def product_save(
    *,
    product_id: int | None,
    title: str,
    category_id: int | None,
    subtitle: str = "",
    description_html: str = "",
    base_price_fen: int,
    dimensions: Sequence[SpecDimensionInput],
    cells: Sequence[SkuCellInput],
    commission: CommissionInput,
    on_shelf: bool | None = None,
    actor: Actor | None = None,
) -> Product:
    """The product editor's save, in one transaction: the product's fields, its spec
    matrix, then the price, stock and commission typed for each cell of the grid, then its
    shelf state. Every cell's input is checked before anything is written."""
    _clean_cells(errors := _Fields(), cells)
    errors.raise_if_any()
    with transaction.atomic():
        if product_id is None:
            product = product_create(
                title=title, category_id=category_id, subtitle=subtitle,
                description_html=description_html, base_price_fen=base_price_fen,
                dimensions=dimensions, commission=commission, actor=actor,
            )
        else:
            product, _ = product_update(
                product_id=product_id, title=title, category_id=category_id,
                subtitle=subtitle, description_html=description_html,
                base_price_fen=base_price_fen, dimensions=dimensions, commission=commission,
                actor=actor,
            )
        product_cells_set(product=product, cells=cells, actor=actor)
        if on_shelf is not None:
            product = product_set_shelf(product_id=product.pk, on_shelf=on_shelf, actor=actor)
    return product
