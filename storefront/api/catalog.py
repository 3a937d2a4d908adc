"""Shopper API of the catalogue (read-only): categories, product list and product detail.

Views parse the query, call storefront.catalog.selectors and serialise; image URLs are
absolute so an app or mini-program can load them as they are.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import error_responses
from storefront.api.auth import ShopperApiMixin
from storefront.catalog import selectors


class CachedCatalogueApiMixin(ShopperApiMixin):
    """These answers are kept in the page cache (catalog_urls), one copy for every client:
    JSON only, so a browser asking for the browsable API's HTML (which names the signed-in
    visitor) can neither get a personal page cached nor hand apps HTML."""

    renderer_classes = [JSONRenderer]


def _absolute(request, url: str | None) -> str | None:
    return request.build_absolute_uri(url) if url else None


@extend_schema_field(OpenApiTypes.URI)
class _ImageUrlField(serializers.Field):
    """The URL of an image file (or null), absolute when a request is in the context."""

    def to_representation(self, value):
        if not value:
            return None
        request = self.context.get("request")
        return _absolute(request, value.url) if request else value.url


# --- categories ---------------------------------------------------------------------------


class CategoryChildOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    icon = _ImageUrlField(allow_null=True)


class CategoryNodeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    icon = _ImageUrlField(source="category.icon", allow_null=True)
    children = CategoryChildOutput(many=True)


class CategoryTreeApi(CachedCatalogueApiMixin, APIView):
    """The mall's active categories, two levels."""

    @extend_schema(responses={200: CategoryNodeOutput(many=True)}, operation_id="categories_tree")
    def get(self, request):
        nodes = selectors.category_tree()
        return Response(CategoryNodeOutput(nodes, many=True, context={"request": request}).data)


# --- products -----------------------------------------------------------------------------


class ProductListInput(serializers.Serializer):
    category = serializers.IntegerField(required=False, min_value=1)
    q = serializers.CharField(required=False, allow_blank=True,
                              max_length=selectors.MAX_SEARCH_LENGTH)
    sort = serializers.ChoiceField(choices=list(selectors.SORTS), default="default")


class ProductListItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    subtitle = serializers.CharField()
    min_price_fen = serializers.IntegerField()
    max_price_fen = serializers.IntegerField()
    sales_count = serializers.IntegerField()
    cover = serializers.SerializerMethodField()

    def get_cover(self, product) -> str | None:
        cover = product.cover
        return _absolute(self.context["request"], cover.thumbnail.url) if cover else None


class ProductListApi(CachedCatalogueApiMixin, generics.ListAPIView):
    """Goods for sale: filter by category (a top-level one includes its children), search
    by keywords (every term must match, as a substring, so Chinese works), and sort."""

    serializer_class = ProductListItemOutput

    def get_queryset(self):
        params = ProductListInput(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.product_list(
            category_id=params.validated_data.get("category"),
            q=params.validated_data.get("q"),
            sort=params.validated_data["sort"],
        )

    @extend_schema(
        parameters=[ProductListInput],
        responses={200: ProductListItemOutput(many=True),
                   **error_responses({400: "invalid filter"})},
        operation_id="products_list",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ProductImageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    image = _ImageUrlField()
    thumbnail = _ImageUrlField()


class SpecValueOutput(serializers.Serializer):
    id = serializers.IntegerField()
    value = serializers.CharField()


class SpecDimensionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    values = SpecValueOutput(many=True)


class MatrixSkuOutput(serializers.Serializer):
    id = serializers.IntegerField()
    values = serializers.ListField(child=serializers.IntegerField(),
                                   help_text="Value ids, in dimension order.")
    label = serializers.CharField()
    price_fen = serializers.IntegerField()
    market_price_fen = serializers.IntegerField()
    stock = serializers.IntegerField()
    image = serializers.CharField(allow_null=True)


class SpecMatrixOutput(serializers.Serializer):
    dimensions = SpecDimensionOutput(many=True)
    skus = MatrixSkuOutput(many=True)


class ProductDetailOutput(serializers.Serializer):
    id = serializers.IntegerField(source="product.id")
    title = serializers.CharField(source="product.title")
    subtitle = serializers.CharField(source="product.subtitle")
    category_id = serializers.IntegerField(source="product.category_id")
    description_html = serializers.CharField(source="product.description_html",
                                             help_text="Sanitised HTML.")
    min_price_fen = serializers.IntegerField(source="product.min_price_fen")
    max_price_fen = serializers.IntegerField(source="product.max_price_fen")
    sales_count = serializers.IntegerField(source="product.sales_count")
    images = ProductImageOutput(many=True)
    matrix = serializers.SerializerMethodField()

    @extend_schema_field(SpecMatrixOutput)
    def get_matrix(self, detail) -> dict:
        request = self.context["request"]
        matrix = dict(detail.matrix)
        matrix["skus"] = [
            {**sku, "image": _absolute(request, sku["image"])} for sku in matrix["skus"]
        ]
        return matrix


class ProductDetailApi(CachedCatalogueApiMixin, APIView):
    """A product for sale with its gallery and the spec matrix: every dimension and value,
    and for each active SKU its value ids, prices, stock and image."""

    @extend_schema(
        responses={200: ProductDetailOutput,
                   **error_responses({404: "unknown or off the shelf"})},
        operation_id="products_detail",
    )
    def get(self, request, product_id: int):
        detail = selectors.product_detail(product_id=product_id)
        return Response(ProductDetailOutput(detail, context={"request": request}).data)
