"""Staff API of the catalogue, under /api/v1/console/: categories, products with their spec
matrix, images, SKUs, shelf state and banners.

Each operation has its own input and output serializer; views name the Django permission
each method needs (merchant_console.api.permissions), parse the input and call
storefront.catalog.services (writes) or selectors (reads). Validation of meaning (prices,
levels, matrix size, images) lives in the services, which raise domain errors rendered as
{code, message, fields}.
"""

from __future__ import annotations

from functools import wraps

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import staff_errors
from core.actors import Actor
from merchant_console.api.permissions import StaffApiMixin
from merchant_console.audit import audit_record
from storefront.catalog import selectors, services, transfer
from storefront.catalog.models import CommissionMode

_ERRORS = staff_errors()


def _audit(request, action: str, target, detail: dict | None = None) -> None:
    audit_record(actor=request.user, area="goods", action=action, target=str(target),
                 detail=detail or {})


def _audited(action: str, target: str | None = None):
    """Run an API method and its staff audit row in one transaction. The row names the URL's
    `target` id, or the id of the row the response returns."""

    def decorate(method):
        @wraps(method)
        def wrapped(self, request, *args, **kwargs):
            with transaction.atomic():
                response = method(self, request, *args, **kwargs)
                data = response.data if isinstance(response.data, dict) else {}
                _audit(request, action, kwargs.get(target) if target else data.get("id", ""))
            return response

        return wrapped

    return decorate


@extend_schema_field(OpenApiTypes.URI)
class _ImageUrlField(serializers.Field):
    def to_representation(self, value):
        if not value:
            return None
        return self.context["request"].build_absolute_uri(value.url)


def _commission(data: dict):
    """Commission fields of an input as a CommissionInput, or UNSET when none was given."""
    if "commission_mode" not in data:
        return services.UNSET
    return services.CommissionInput(
        mode=data.pop("commission_mode"),
        fixed_fen=data.pop("commission_fixed_fen", 0),
        rates_bp=tuple(data.pop("commission_rates_bp", ())),
    )


@extend_schema_field({"type": "array", "items": {"type": "integer"}, "maxItems": 3})
class RatesField(serializers.Field):
    """A list of whole numbers; their range and count are checked by the service."""

    default_error_messages = {"invalid": "Give a list of whole basis points."}

    def to_internal_value(self, data):
        if not isinstance(data, list) or not all(
            isinstance(item, int) and not isinstance(item, bool) for item in data
        ):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return list(value)


class _CommissionFields(serializers.Serializer):
    commission_mode = serializers.ChoiceField(choices=CommissionMode.choices, required=False)
    commission_fixed_fen = serializers.IntegerField(required=False, min_value=0)
    commission_rates_bp = RatesField(
        required=False, help_text="Basis points per tier, tier 1 first (100 bp = 1%).",
    )

    def validate(self, attrs):
        if ("commission_fixed_fen" in attrs or "commission_rates_bp" in attrs) and (
            "commission_mode" not in attrs
        ):
            raise serializers.ValidationError(
                {"commission_mode": ["Give the commission mode with its amount or rates."]}
            )
        return attrs


# --- categories ---------------------------------------------------------------------------


class StaffCategoryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    parent_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    icon = _ImageUrlField(allow_null=True)
    sort_weight = serializers.IntegerField()
    is_active = serializers.BooleanField()


class StaffCategoryCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=40)
    parent_id = serializers.IntegerField(required=False, allow_null=True)
    sort_weight = serializers.IntegerField(required=False, default=0)
    is_active = serializers.BooleanField(required=False, default=True)
    icon = serializers.FileField(required=False, help_text="JPEG, PNG or WebP, at most 5 MB.")


class StaffCategoryUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=40, required=False)
    parent_id = serializers.IntegerField(required=False, allow_null=True)
    sort_weight = serializers.IntegerField(required=False)
    is_active = serializers.BooleanField(required=False)
    icon = serializers.FileField(required=False, allow_null=True)


class CategoryListCreateApi(StaffApiMixin, APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    required_permissions = {"GET": "catalog.view_category", "POST": "catalog.add_category"}

    @extend_schema(responses={200: StaffCategoryOutput(many=True), **_ERRORS},
                   operation_id="console_categories_list")
    def get(self, request):
        return Response(StaffCategoryOutput(selectors.category_list(), many=True,
                                       context={"request": request}).data)

    @extend_schema(request=StaffCategoryCreateInput,
                   responses={201: StaffCategoryOutput, **_ERRORS},
                   operation_id="console_categories_create")
    @_audited("category.create")
    def post(self, request):
        data = StaffCategoryCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        category = services.category_create(**data.validated_data)
        return Response(StaffCategoryOutput(category, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class CategoryDetailApi(StaffApiMixin, APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    required_permissions = {"GET": "catalog.view_category", "PATCH": "catalog.change_category",
                            "DELETE": "catalog.delete_category"}

    @extend_schema(responses={200: StaffCategoryOutput, **_ERRORS},
                   operation_id="console_categories_get")
    def get(self, request, category_id: int):
        category = selectors.category_get(category_id=category_id)
        return Response(StaffCategoryOutput(category, context={"request": request}).data)

    @extend_schema(request=StaffCategoryUpdateInput,
                   responses={200: StaffCategoryOutput, **_ERRORS},
                   operation_id="console_categories_update")
    @_audited("category.update", "category_id")
    def patch(self, request, category_id: int):
        data = StaffCategoryUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        category = services.category_update(category_id=category_id, **data.validated_data)
        return Response(StaffCategoryOutput(category, context={"request": request}).data)

    @extend_schema(responses={204: None, **_ERRORS}, operation_id="console_categories_delete")
    @_audited("category.delete", "category_id")
    def delete(self, request, category_id: int):
        services.category_delete(category_id=category_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- products -----------------------------------------------------------------------------


class StaffSpecValueSchema(serializers.Serializer):
    id = serializers.IntegerField(required=False, help_text="Give it to rename a value.")
    value = serializers.CharField(max_length=30)


class StaffSpecDimensionSchema(serializers.Serializer):
    """Documents the shape of `dimensions`; DimensionsField parses it. A value may also be
    given as a plain string ("红")."""

    id = serializers.IntegerField(required=False, allow_null=True,
                                  help_text="Give it to rename an existing dimension.")
    name = serializers.CharField(max_length=20)
    values = StaffSpecValueSchema(many=True)


def _whole_or_none(value) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


@extend_schema_field(StaffSpecDimensionSchema(many=True))
class DimensionsField(serializers.Field):
    """Parses the list of spec dimensions into service inputs. Errors are flat messages
    ("Dimension 2: ..."), so they read well in {code, message, fields}; what the values
    mean (lengths, duplicates, matrix size) is checked by the service."""

    default_error_messages = {"not_a_list": "Give a list of spec dimensions."}

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list")
        dimensions, errors = [], []
        for number, item in enumerate(data, start=1):
            if not (isinstance(item, dict) and isinstance(item.get("name"), str)
                    and isinstance(item.get("values"), list) and _whole_or_none(item.get("id"))):
                errors.append(f"Dimension {number}: give a name and a list of values.")
                continue
            values = []
            for raw in item["values"]:
                if isinstance(raw, str):
                    values.append(services.SpecValueInput(value=raw))
                elif (isinstance(raw, dict) and isinstance(raw.get("value"), str)
                      and _whole_or_none(raw.get("id"))):
                    values.append(services.SpecValueInput(value=raw["value"], id=raw.get("id")))
                else:
                    errors.append(f"Dimension {number}: give each value as text or as "
                                  '{"id", "value"}.')
                    break
            dimensions.append(services.SpecDimensionInput(
                name=item["name"], values=values, id=item.get("id")))
        if errors:
            raise serializers.ValidationError(errors)
        return dimensions

    def to_representation(self, value):  # pragma: no cover - input only
        return value


def _dimensions(data: dict):
    return data.pop("dimensions") if "dimensions" in data else services.UNSET


class StaffProductCreateInput(_CommissionFields):
    title = serializers.CharField(max_length=120)
    subtitle = serializers.CharField(max_length=200, required=False, allow_blank=True)
    category_id = serializers.IntegerField()
    description_html = serializers.CharField(required=False, allow_blank=True,
                                             help_text="Rich text; sanitised on save.")
    base_price_fen = serializers.IntegerField(help_text="Price of every generated SKU, fen.")
    market_price_fen = serializers.IntegerField(required=False)
    initial_stock = serializers.IntegerField(required=False, help_text="Stock of every SKU.")
    is_recommended = serializers.BooleanField(required=False)
    sort_weight = serializers.IntegerField(required=False)
    dimensions = DimensionsField(required=False, help_text="e.g. 颜色 × 尺码.")


class StaffProductUpdateInput(_CommissionFields):
    title = serializers.CharField(max_length=120, required=False)
    subtitle = serializers.CharField(max_length=200, required=False, allow_blank=True)
    category_id = serializers.IntegerField(required=False)
    description_html = serializers.CharField(required=False, allow_blank=True)
    base_price_fen = serializers.IntegerField(
        required=False, help_text="Price of SKUs that new dimension values add, fen."
    )
    is_recommended = serializers.BooleanField(required=False)
    sort_weight = serializers.IntegerField(required=False)
    dimensions = DimensionsField(
        required=False,
        help_text="The full new list: kept combinations keep price and stock, new ones are "
                  "added at base_price_fen, vanished ones are deactivated.",
    )


class StaffProductListInput(serializers.Serializer):
    category = serializers.IntegerField(required=False, min_value=1)
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
    on_shelf = serializers.BooleanField(required=False, allow_null=True, default=None)


class StaffProductListItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    category_id = serializers.IntegerField()
    is_on_shelf = serializers.BooleanField()
    is_recommended = serializers.BooleanField()
    min_price_fen = serializers.IntegerField()
    max_price_fen = serializers.IntegerField()
    sales_count = serializers.IntegerField()
    sort_weight = serializers.IntegerField()
    cover = _ImageUrlField(source="cover.thumbnail", allow_null=True, default=None)


class StaffImageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    image = _ImageUrlField()
    thumbnail = _ImageUrlField()
    position = serializers.IntegerField()


class StaffSpecValueOutput(serializers.Serializer):
    id = serializers.IntegerField()
    value = serializers.CharField()


class StaffSpecDimensionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    values = StaffSpecValueOutput(many=True, source="values.all")


class StaffSkuOutput(serializers.Serializer):
    id = serializers.IntegerField()
    spec_key = serializers.CharField()
    spec_label = serializers.CharField()
    price_fen = serializers.IntegerField()
    market_price_fen = serializers.IntegerField()
    stock = serializers.IntegerField()
    weight_g = serializers.IntegerField()
    barcode = serializers.CharField()
    image = _ImageUrlField(allow_null=True)
    is_active = serializers.BooleanField()
    sales_count = serializers.IntegerField()
    commission_mode = serializers.CharField()
    commission_fixed_fen = serializers.IntegerField()
    commission_rates_bp = serializers.ListField(child=serializers.IntegerField())


class StaffProductDetailOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    subtitle = serializers.CharField()
    category_id = serializers.IntegerField()
    description_html = serializers.CharField()
    is_on_shelf = serializers.BooleanField()
    is_recommended = serializers.BooleanField()
    sort_weight = serializers.IntegerField()
    base_price_fen = serializers.IntegerField()
    min_price_fen = serializers.IntegerField()
    max_price_fen = serializers.IntegerField()
    sales_count = serializers.IntegerField()
    cover_id = serializers.IntegerField(allow_null=True)
    commission_mode = serializers.CharField()
    commission_fixed_fen = serializers.IntegerField()
    commission_rates_bp = serializers.ListField(child=serializers.IntegerField())
    images = StaffImageOutput(many=True, source="images.all")
    dimensions = StaffSpecDimensionOutput(many=True, source="dimensions.all")
    skus = StaffSkuOutput(many=True, source="skus.all")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class StaffMatrixChangeOutput(serializers.Serializer):
    kept = serializers.ListField(child=serializers.IntegerField())
    added = serializers.ListField(child=serializers.IntegerField())
    deactivated = serializers.ListField(child=serializers.IntegerField())
    reactivated = serializers.ListField(child=serializers.IntegerField())


class StaffProductUpdateOutput(StaffProductDetailOutput):
    matrix_change = StaffMatrixChangeOutput(allow_null=True)


def _detail(request, product_id: int, **extra) -> dict:
    product = selectors.product_get(product_id=product_id)
    for name, value in extra.items():
        setattr(product, name, value)
    serializer = StaffProductUpdateOutput if extra else StaffProductDetailOutput
    return serializer(product, context={"request": request}).data


class ProductListCreateApi(StaffApiMixin, generics.GenericAPIView):
    required_permissions = {"GET": "catalog.view_product", "POST": "catalog.add_product"}
    serializer_class = StaffProductListItemOutput

    @extend_schema(parameters=[StaffProductListInput],
                   responses={200: StaffProductListItemOutput(many=True), **_ERRORS},
                   operation_id="console_products_list")
    def get(self, request):
        params = StaffProductListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        products = selectors.product_list_for_staff(
            category_id=params.validated_data.get("category"),
            q=params.validated_data.get("q"),
            on_shelf=params.validated_data.get("on_shelf"),
        )
        page = self.paginate_queryset(products)
        return self.get_paginated_response(
            StaffProductListItemOutput(page, many=True, context={"request": request}).data
        )

    @extend_schema(request=StaffProductCreateInput,
                   responses={201: StaffProductDetailOutput, **_ERRORS},
                   operation_id="console_products_create")
    @_audited("product.create")
    def post(self, request):
        data = StaffProductCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        commission = _commission(values)
        dimensions = _dimensions(values)
        product = services.product_create(
            **values,
            dimensions=[] if dimensions is services.UNSET else dimensions,
            commission=None if commission is services.UNSET else commission,
            actor=Actor.staff(request.user.pk),
        )
        return Response(_detail(request, product.pk), status=status.HTTP_201_CREATED)


class ProductDetailApi(StaffApiMixin, APIView):
    required_permissions = {"GET": "catalog.view_product", "PATCH": "catalog.change_product",
                            "DELETE": "catalog.delete_product"}

    @extend_schema(responses={200: StaffProductDetailOutput, **_ERRORS},
                   operation_id="console_products_get")
    def get(self, request, product_id: int):
        return Response(_detail(request, product_id))

    @extend_schema(request=StaffProductUpdateInput,
                   responses={200: StaffProductUpdateOutput, **_ERRORS},
                   operation_id="console_products_update")
    @_audited("product.update", "product_id")
    def patch(self, request, product_id: int):
        data = StaffProductUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        commission = _commission(values)
        dimensions = _dimensions(values)
        _, change = services.product_update(
            product_id=product_id, commission=commission, dimensions=dimensions,
            actor=Actor.staff(request.user.pk), **values,
        )
        matrix_change = StaffMatrixChangeOutput(change).data if change is not None else None
        return Response(_detail(request, product_id, matrix_change=matrix_change))

    @extend_schema(responses={204: None, **_ERRORS}, operation_id="console_products_delete")
    @_audited("product.delete", "product_id")
    def delete(self, request, product_id: int):
        services.product_delete(product_id=product_id, actor=Actor.staff(request.user.pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StaffImageUploadInput(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG or WebP, at most 5 MB.")


class ProductImageUploadApi(StaffApiMixin, APIView):
    parser_classes = [MultiPartParser, FormParser]
    required_permissions = {"POST": "catalog.change_product"}

    @extend_schema(request={"multipart/form-data": StaffImageUploadInput},
                   responses={201: StaffImageOutput, **_ERRORS},
                   operation_id="console_products_images_upload")
    @_audited("product.image_add", "product_id")
    def post(self, request, product_id: int):
        data = StaffImageUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        image = services.product_image_add(product_id=product_id,
                                           upload=data.validated_data["image"],
                                           actor=Actor.staff(request.user.pk))
        return Response(StaffImageOutput(image, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class ProductImageDeleteApi(StaffApiMixin, APIView):
    required_permissions = {"DELETE": "catalog.change_product"}

    @extend_schema(responses={204: None, **_ERRORS},
                   operation_id="console_products_images_delete")
    @_audited("product.image_delete", "product_id")
    def delete(self, request, product_id: int, image_id: int):
        services.product_image_delete(product_id=product_id, image_id=image_id,
                                      actor=Actor.staff(request.user.pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StaffSkuUpdateInput(_CommissionFields):
    price_fen = serializers.IntegerField(required=False)
    market_price_fen = serializers.IntegerField(required=False)
    stock = serializers.IntegerField(required=False)
    weight_g = serializers.IntegerField(required=False)
    barcode = serializers.CharField(required=False, allow_blank=True, max_length=40)
    image_id = serializers.IntegerField(required=False, allow_null=True,
                                        help_text="One of the product's images; null clears.")
    is_active = serializers.BooleanField(required=False)


class SkuUpdateApi(StaffApiMixin, APIView):
    required_permissions = {"PATCH": "catalog.change_sku"}

    @extend_schema(request=StaffSkuUpdateInput, responses={200: StaffSkuOutput, **_ERRORS},
                   operation_id="console_products_skus_update")
    @_audited("sku.update", "sku_id")
    def patch(self, request, product_id: int, sku_id: int):
        data = StaffSkuUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        commission = _commission(values)
        sku = services.sku_update(product_id=product_id, sku_id=sku_id, commission=commission,
                                  actor=Actor.staff(request.user.pk), **values)
        return Response(StaffSkuOutput(sku, context={"request": request}).data)


class StaffShelfInput(serializers.Serializer):
    on_shelf = serializers.BooleanField()


class StaffShelfOutput(serializers.Serializer):
    id = serializers.IntegerField()
    is_on_shelf = serializers.BooleanField()


class ProductShelfApi(StaffApiMixin, APIView):
    required_permissions = {"POST": "catalog.change_product"}

    @extend_schema(request=StaffShelfInput, responses={200: StaffShelfOutput, **_ERRORS},
                   operation_id="console_products_shelf")
    @_audited("product.shelf", "product_id")
    def post(self, request, product_id: int):
        data = StaffShelfInput(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.product_set_shelf(
            product_id=product_id, on_shelf=data.validated_data["on_shelf"],
            actor=Actor.staff(request.user.pk),
        )
        return Response(StaffShelfOutput(product).data)


# --- banners ------------------------------------------------------------------------------


class StaffBannerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    image = _ImageUrlField()
    product_id = serializers.IntegerField(allow_null=True)
    sort_weight = serializers.IntegerField()
    is_active = serializers.BooleanField()


class StaffBannerCreateInput(serializers.Serializer):
    title = serializers.CharField(max_length=60)
    image = serializers.FileField(help_text="JPEG, PNG or WebP, at most 5 MB.")
    product_id = serializers.IntegerField(required=False, allow_null=True)
    sort_weight = serializers.IntegerField(required=False, default=0)
    is_active = serializers.BooleanField(required=False, default=True)


class StaffBannerUpdateInput(serializers.Serializer):
    title = serializers.CharField(max_length=60, required=False)
    image = serializers.FileField(required=False)
    product_id = serializers.IntegerField(required=False, allow_null=True)
    sort_weight = serializers.IntegerField(required=False)
    is_active = serializers.BooleanField(required=False)


class BannerListCreateApi(StaffApiMixin, APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    required_permissions = {"GET": "catalog.view_banner", "POST": "catalog.add_banner"}

    @extend_schema(responses={200: StaffBannerOutput(many=True), **_ERRORS},
                   operation_id="console_banners_list")
    def get(self, request):
        return Response(StaffBannerOutput(selectors.banner_list(), many=True,
                                     context={"request": request}).data)

    @extend_schema(request={"multipart/form-data": StaffBannerCreateInput},
                   responses={201: StaffBannerOutput, **_ERRORS},
                   operation_id="console_banners_create")
    @_audited("banner.create")
    def post(self, request):
        data = StaffBannerCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        banner = services.banner_create(**data.validated_data)
        return Response(StaffBannerOutput(banner, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class BannerDetailApi(StaffApiMixin, APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    required_permissions = {"GET": "catalog.view_banner", "PATCH": "catalog.change_banner",
                            "DELETE": "catalog.delete_banner"}

    @extend_schema(responses={200: StaffBannerOutput, **_ERRORS},
                   operation_id="console_banners_get")
    def get(self, request, banner_id: int):
        banner = selectors.banner_get(banner_id=banner_id)
        return Response(StaffBannerOutput(banner, context={"request": request}).data)

    @extend_schema(request={"multipart/form-data": StaffBannerUpdateInput},
                   responses={200: StaffBannerOutput, **_ERRORS},
                   operation_id="console_banners_update")
    @_audited("banner.update", "banner_id")
    def patch(self, request, banner_id: int):
        data = StaffBannerUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        banner = services.banner_update(banner_id=banner_id, **data.validated_data)
        return Response(StaffBannerOutput(banner, context={"request": request}).data)

    @extend_schema(responses={204: None, **_ERRORS}, operation_id="console_banners_delete")
    @_audited("banner.delete", "banner_id")
    def delete(self, request, banner_id: int):
        services.banner_delete(banner_id=banner_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- the console's bulk actions (parity with the goods pages) -----------------------------


class StaffBulkShelfInput(serializers.Serializer):
    product_ids = serializers.ListField(child=serializers.IntegerField(), max_length=500)
    on_shelf = serializers.BooleanField()


class ProductBulkShelfApi(StaffApiMixin, APIView):
    """Several products on or off the shelf: all of them or none."""

    required_permissions = {"POST": "catalog.change_product"}

    @extend_schema(request=StaffBulkShelfInput,
                   responses={200: StaffShelfOutput(many=True), **_ERRORS},
                   operation_id="console_products_bulk_shelf")
    def post(self, request):
        data = StaffBulkShelfInput(data=request.data)
        data.is_valid(raise_exception=True)
        ids, on_shelf = data.validated_data["product_ids"], data.validated_data["on_shelf"]
        with transaction.atomic():
            products = services.products_set_shelf(product_ids=ids, on_shelf=on_shelf,
                                                   actor=Actor.staff(request.user.pk))
            _audit(request, "product.shelf_on" if on_shelf else "product.shelf_off",
                   ",".join(map(str, sorted(set(ids)))), {"products": sorted(set(ids))})
        return Response(StaffShelfOutput(products, many=True).data)


class StaffImageOrderInput(serializers.Serializer):
    image_ids = serializers.ListField(child=serializers.IntegerField(), max_length=50)


class ProductImageOrderApi(StaffApiMixin, APIView):
    required_permissions = {"POST": "catalog.change_product"}

    @extend_schema(request=StaffImageOrderInput,
                   responses={200: StaffImageOutput(many=True), **_ERRORS},
                   operation_id="console_products_images_order")
    def post(self, request, product_id: int):
        data = StaffImageOrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        ids = data.validated_data["image_ids"]
        with transaction.atomic():
            images = services.product_images_reorder(product_id=product_id, image_ids=ids,
                                                     actor=Actor.staff(request.user.pk))
            _audit(request, "product.images_reorder", product_id, {"order": ids})
        return Response(StaffImageOutput(images, many=True, context={"request": request}).data)


class StaffImportInput(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8) or XLSX, at most 5 MB; columns as "
                                           "the export's.")


class StaffImportErrorOutput(serializers.Serializer):
    line = serializers.IntegerField()
    message = serializers.CharField()


class StaffImportJobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    file_name = serializers.CharField()
    status = serializers.CharField()
    percent = serializers.IntegerField()
    rows_total = serializers.IntegerField()
    rows_done = serializers.IntegerField()
    rows_imported = serializers.IntegerField()
    products_created = serializers.IntegerField()
    products_updated = serializers.IntegerField()
    errors = StaffImportErrorOutput(many=True)
    failed_rows = serializers.ListField(child=serializers.IntegerField())
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class GoodsImportApi(StaffApiMixin, APIView):
    """Start an import; it runs in Celery. Poll its status at imports/<id>/."""

    parser_classes = [MultiPartParser, FormParser]
    required_permissions = {"POST": "catalog.add_product"}

    @extend_schema(request={"multipart/form-data": StaffImportInput},
                   responses={202: StaffImportJobOutput, **_ERRORS},
                   operation_id="console_goods_import_start")
    def post(self, request):
        data = StaffImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            job = transfer.import_job_start(upload=data.validated_data["file"],
                                            actor=Actor.staff(request.user.pk))
            _audit(request, "goods.import_start", job.pk,
                   {"file": job.file_name, "rows": job.rows_total})
        return Response(StaffImportJobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class GoodsImportStatusApi(StaffApiMixin, APIView):
    required_permissions = {"GET": "catalog.view_product"}

    @extend_schema(responses={200: StaffImportJobOutput, **_ERRORS},
                   operation_id="console_goods_import_status")
    def get(self, request, job_id: int):
        return Response(StaffImportJobOutput(transfer.import_job_get(job_id=job_id)).data)


