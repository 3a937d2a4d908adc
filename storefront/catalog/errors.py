"""Stable error codes of the catalogue. Faces render them as {code, message, fields}."""

from billing.limits import PlanLimitReached
from core.errors import Conflict, InvalidInput, NotFound


class CategoryNotFound(NotFound):
    code = "category_not_found"
    default_message = "Category not found."


class ProductNotFound(NotFound):
    code = "product_not_found"
    default_message = "Product not found."


class SkuNotFound(NotFound):
    code = "sku_not_found"
    default_message = "SKU not found."


class ImageNotFound(NotFound):
    code = "image_not_found"
    default_message = "Image not found."


class BannerNotFound(NotFound):
    code = "banner_not_found"
    default_message = "Banner not found."


class CatalogInvalid(InvalidInput):
    """A field of a category, product, SKU or banner is not valid (see `fields`)."""

    code = "catalog_invalid"


class ImageInvalid(InvalidInput):
    code = "image_invalid"
    default_message = "Upload a JPEG, PNG or WebP image of at most 5 MB."


class CategoryInUse(Conflict):
    code = "category_in_use"
    default_message = "This category still holds products or sub-categories."


class ProductInUse(Conflict):
    code = "product_in_use"
    default_message = "Orders refer to this product; take it off the shelf instead."


class ShelfRefused(Conflict):
    code = "shelf_refused"
    default_message = "This product cannot be put on the shelf yet."


class ProductLimitReached(PlanLimitReached):
    """The plan's max_products is reached (billing.limits says so, with the upgrade link)."""


class ImportJobNotFound(NotFound):
    code = "import_job_not_found"
    default_message = "Import not found."
