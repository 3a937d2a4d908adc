"""Reads of the catalogue, for the shopper's pages and API and for the staff console.

Shopper reads see only what is for sale: products on the shelf with at least one active
SKU, in active categories' trees. Every selector runs a small, fixed number of queries,
whatever the number of rows (the page tests pin the counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from storefront.catalog.errors import (
    BannerNotFound,
    CatalogInvalid,
    CategoryNotFound,
    ProductNotFound,
)
from storefront.catalog.models import (
    Banner,
    Category,
    Product,
    ProductImage,
    Sku,
    SpecValue,
)

SORTS: dict[str, tuple[str, ...]] = {
    "default": ("-sort_weight", "-id"),
    "sales": ("-sales_count", "-id"),
    "price_asc": ("min_price_fen", "id"),
    "price_desc": ("-min_price_fen", "-id"),
    "newest": ("-created_at", "-id"),
}
MAX_SEARCH_TERMS = 8
MAX_SEARCH_LENGTH = 100


def search_terms(q: str | None) -> list[str]:
    """Whitespace-separated, lower-cased terms. Chinese has no spaces between words, so a
    term is matched as a substring (no segmentation): "连衣裙" finds "碎花连衣裙"."""
    if not q:
        return []
    return q[:MAX_SEARCH_LENGTH].lower().split()[:MAX_SEARCH_TERMS]


def _for_sale() -> QuerySet[Product]:
    return Product.objects.filter(is_on_shelf=True).filter(
        Exists(Sku.objects.filter(product=OuterRef("pk"), is_active=True))
    )


def _filter_terms(products: QuerySet[Product], terms: list[str]) -> QuerySet[Product]:
    for term in terms:
        products = products.filter(search_text__contains=term)
    return products


def _filter_category(products: QuerySet[Product], category_id: int | None) -> QuerySet[Product]:
    if category_id is None:
        return products
    return products.filter(Q(category_id=category_id) | Q(category__parent_id=category_id))


def product_list(
    *, category_id: int | None = None, q: str | None = None, sort: str = "default"
) -> QuerySet[Product]:
    """Products for sale, optionally in a category (a top-level one includes its children)
    and matching every search term, in one query with the cover image joined."""
    if sort not in SORTS:
        raise CatalogInvalid(fields={"sort": [f"Choose one of: {', '.join(SORTS)}."]})
    products = _filter_category(_for_sale(), category_id)
    products = _filter_terms(products, search_terms(q))
    return products.select_related("cover").order_by(*SORTS[sort])


@dataclass(frozen=True)
class DimensionView:
    id: int
    name: str
    values: list[SpecValue]


@dataclass(frozen=True)
class ProductDetail:
    product: Product
    images: list[ProductImage]
    dimensions: list[DimensionView]
    skus: list[Sku]
    matrix: dict

    @property
    def total_stock(self) -> int:
        return sum(sku.stock for sku in self.skus)

    @property
    def single_sku(self) -> Sku | None:
        """The SKU to preselect when there is nothing to choose."""
        return self.skus[0] if not self.dimensions and len(self.skus) == 1 else None


def _value_ids(spec_key: str) -> list[int]:
    return [int(part) for part in spec_key.split("-")] if spec_key else []


def _image_url(image) -> str | None:
    return image.url if image else None


def spec_matrix(*, dimensions: list[DimensionView], skus: list[Sku]) -> dict:
    """The JSON the spec picker reads: every dimension with its values, and for each active
    SKU its value ids (in dimension order), prices, stock and image."""
    return {
        "dimensions": [
            {"id": dim.id, "name": dim.name,
             "values": [{"id": value.pk, "value": value.value} for value in dim.values]}
            for dim in dimensions
        ],
        "skus": [
            {
                "id": sku.pk,
                "values": _value_ids(sku.spec_key),
                "label": sku.spec_label,
                "price_fen": sku.price_fen,
                "market_price_fen": sku.market_price_fen,
                "stock": sku.stock,
                "image": _image_url(sku.image),
            }
            for sku in skus
        ],
    }


def _dimensions_of(product: Product) -> list[DimensionView]:
    """One query: values joined to their dimensions (a dimension always has a value)."""
    dimensions: dict[int, DimensionView] = {}
    for value in (
        SpecValue.objects.filter(dimension__product=product)
        .select_related("dimension")
        .order_by("dimension__position", "dimension_id", "position", "id")
    ):
        dim = value.dimension
        if dim.pk not in dimensions:
            dimensions[dim.pk] = DimensionView(id=dim.pk, name=dim.name, values=[])
        dimensions[dim.pk].values.append(value)
    return list(dimensions.values())


def product_detail(*, product_id: int) -> ProductDetail:
    """A product for sale with its gallery, dimensions, active SKUs and the picker matrix
    (four queries). Off the shelf, without an active SKU, or unknown: ProductNotFound."""
    product = (
        Product.objects.filter(pk=product_id, is_on_shelf=True)
        .select_related("cover")
        .first()
    )
    if product is None:
        raise ProductNotFound()
    skus = list(Sku.objects.filter(product=product, is_active=True).order_by("id"))
    if not skus:
        raise ProductNotFound()
    images = list(ProductImage.objects.filter(product=product))
    dimensions = _dimensions_of(product)
    return ProductDetail(
        product=product,
        images=images,
        dimensions=dimensions,
        skus=skus,
        matrix=spec_matrix(dimensions=dimensions, skus=skus),
    )


@dataclass(frozen=True)
class CategoryNode:
    category: Category
    children: list[Category] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.category.pk

    @property
    def name(self) -> str:
        return self.category.name


def category_tree() -> list[CategoryNode]:
    """Active categories, two levels, in one query. Children of a hidden parent are hidden."""
    nodes: dict[int, CategoryNode] = {}
    children: list[Category] = []
    for category in Category.objects.filter(is_active=True).order_by("-sort_weight", "id"):
        if category.parent_id is None:
            nodes[category.pk] = CategoryNode(category=category)
        else:
            children.append(category)
    for child in children:
        if child.parent_id in nodes:
            nodes[child.parent_id].children.append(child)
    return list(nodes.values())


def category_detail(*, category_id: int) -> CategoryNode:
    """An active category with its active children (one query); its parent, if any, must be
    active too. Otherwise CategoryNotFound."""
    rows = list(
        Category.objects.filter(is_active=True)
        .filter(Q(pk=category_id) | Q(parent_id=category_id) | Q(children__pk=category_id))
        .order_by("-sort_weight", "id")
        .distinct()
    )
    category = next((row for row in rows if row.pk == category_id), None)
    if category is None:
        raise CategoryNotFound()
    if category.parent_id is not None and not any(row.pk == category.parent_id for row in rows):
        raise CategoryNotFound()
    if category.parent_id is not None:
        category.parent = next(row for row in rows if row.pk == category.parent_id)
    return CategoryNode(
        category=category, children=[row for row in rows if row.parent_id == category_id]
    )


@dataclass(frozen=True)
class HomeSections:
    banners: list[Banner]
    categories: list[Category]
    products: list[Product]


def home_sections(*, product_limit: int = 10) -> HomeSections:
    """Active banners, top-level categories, and goods: recommended ones first, then by the
    staff's sort weight, so a new mall's home is never empty (three queries)."""
    banners = list(Banner.objects.filter(is_active=True).order_by("-sort_weight", "id"))
    categories = list(
        Category.objects.filter(is_active=True, parent__isnull=True).order_by("-sort_weight", "id")
    )
    products = list(
        _for_sale().select_related("cover")
        .order_by("-is_recommended", "-sort_weight", "-id")[:product_limit]
    )
    return HomeSections(banners=banners, categories=categories, products=products)


# --- staff reads --------------------------------------------------------------------------


def category_list() -> QuerySet[Category]:
    """All categories, hidden ones included, parents before their children."""
    return Category.objects.order_by("parent_id", "-sort_weight", "id")


def category_get(*, category_id: int) -> Category:
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        raise CategoryNotFound()
    return category


def product_list_for_staff(
    *, category_id: int | None = None, q: str | None = None, on_shelf: bool | None = None
) -> QuerySet[Product]:
    products = _filter_category(Product.objects.all(), category_id)
    products = _filter_terms(products, search_terms(q))
    if on_shelf is not None:
        products = products.filter(is_on_shelf=on_shelf)
    return products.select_related("cover").order_by("-sort_weight", "-id")


LOW_STOCK = 10
STOCK_FILTERS = ("low", "out")


def product_page_for_staff(
    *, category_id: int | None = None, q: str | None = None, on_shelf: bool | None = None,
    stock: str | None = None,
) -> QuerySet[Product]:
    """The console's goods list: every product with its category, cover, active SKU count
    and total active stock (one query). `stock`: "out" (no active stock left) or "low"
    (at most LOW_STOCK units left, but some)."""
    if stock not in (None, "", *STOCK_FILTERS):
        raise CatalogInvalid(fields={"stock": [f"Choose one of: {', '.join(STOCK_FILTERS)}."]})
    products = product_list_for_staff(category_id=category_id, q=q, on_shelf=on_shelf)
    products = products.select_related("category").annotate(
        total_stock=Coalesce(Sum("skus__stock", filter=Q(skus__is_active=True)), 0),
        sku_count=Count("skus", filter=Q(skus__is_active=True)),
    )
    if stock == "out":
        products = products.filter(total_stock=0)
    elif stock == "low":
        products = products.filter(total_stock__gt=0, total_stock__lte=LOW_STOCK)
    return products


def product_get(*, product_id: int) -> Product:
    """A product with everything staff edit: gallery, dimensions with values, every SKU
    (inactive ones too)."""
    product = (
        Product.objects.filter(pk=product_id)
        .select_related("cover")
        .prefetch_related("images", "dimensions__values", "skus")
        .first()
    )
    if product is None:
        raise ProductNotFound()
    return product


def banner_list() -> QuerySet[Banner]:
    return Banner.objects.order_by("-sort_weight", "id")


def banner_get(*, banner_id: int) -> Banner:
    banner = Banner.objects.filter(pk=banner_id).first()
    if banner is None:
        raise BannerNotFound()
    return banner
