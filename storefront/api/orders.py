"""The shopper API for the cart, checkout, orders and after-sales cases.

One view per operation, an input and an output serializer each; the views validate, call
orders.cart / orders.services / orders.after_sales, and serialize. Clients name SKUs and
quantities only: any price a client sends is ignored (the serializers do not even read it).
"""

from __future__ import annotations

import json

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.utils import html
from rest_framework.views import APIView

from control_plane.api_schema import shopper_errors
from core.actors import Actor
from storefront.api.auth import IsShopper, ShopperApiMixin
from storefront.api.order_serializers import AfterSalesCaseOutput, OrderLineOutput
from storefront.catalog.images import image_check
from storefront.orders.after_sales import (
    MAX_PHOTOS,
    REASONS,
    RefundItem,
    after_sales_request,
    after_sales_withdraw,
)
from storefront.orders.cart import (
    MAX_QUANTITY_PER_LINE,
    cart_add,
    cart_find,
    cart_get_or_create,
    cart_remove,
    cart_set_quantity,
)
from storefront.orders.models import OrderStatus
from storefront.orders.selectors import (
    after_sales_get_for_shopper,
    after_sales_list_for_order,
    order_get_for_shopper,
    order_list_for_shopper,
)
from storefront.orders.services import (
    CheckoutItem,
    checkout_quote,
    order_confirm_receipt,
    order_place,
)
from storefront.payments.services import order_cancel_unpaid
from storefront.shoppers.selectors import address_get_default, address_get_for_shopper
from storefront.web.funnel import funnel_mark
from storefront.web.presenters import (
    ORDER_STATUS_LABELS,
    cart_view,
    order_actions,
    order_list_for_shopper_tab,
    pay_seconds_left,
)
from storefront.web.shopper_session import REFERRER_SESSION_KEY

MAX_ID = 2**63 - 1

def _session_key(request, *, create: bool) -> str | None:
    """The visitor's session key (an anonymous cart is keyed by it); with `create`, make
    sure one exists and that the response carries its cookie."""
    session = request._request.session
    if create and not session.session_key:
        session.save()
        session.modified = True
    return session.session_key


def _shopper(request):
    return getattr(request._request, "shopper", None)


class OrderPagination(PageNumberPagination):
    page_size = 10
    page_size_query_param = "page_size"
    max_page_size = 50


# ------------------------------------------------------------------ shared output


class QuoteLineOutput(serializers.Serializer):
    sku_id = serializers.IntegerField(source="sku.pk")
    product_id = serializers.IntegerField(source="sku.product_id")
    title = serializers.CharField(source="sku.product.title")
    spec_label = serializers.CharField(source="sku.spec_label")
    unit_price_fen = serializers.IntegerField()
    quantity = serializers.IntegerField()
    goods_fen = serializers.IntegerField()
    discount_fen = serializers.IntegerField()
    paid_fen = serializers.IntegerField()


class QuoteOutput(serializers.Serializer):
    lines = QuoteLineOutput(many=True)
    goods_fen = serializers.IntegerField()
    discount_fen = serializers.IntegerField()
    shipping_fen = serializers.IntegerField()
    total_fen = serializers.IntegerField()
    discount_rule = serializers.CharField(source="discount_rule.name", allow_null=True)


class ItemInput(serializers.Serializer):
    sku_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY_PER_LINE)


def _checkout_items(items: list[dict]) -> list[CheckoutItem]:
    return [CheckoutItem(sku_id=item["sku_id"], quantity=item["quantity"]) for item in items]


# ------------------------------------------------------------------ cart


class CartLineOutput(serializers.Serializer):
    sku_id = serializers.IntegerField(source="sku.pk")
    product_id = serializers.IntegerField(source="sku.product_id")
    title = serializers.CharField(source="sku.product.title")
    spec_label = serializers.CharField(source="sku.spec_label")
    image_url = serializers.CharField()
    unit_price_fen = serializers.IntegerField()
    quantity = serializers.IntegerField()
    line_total_fen = serializers.IntegerField()
    available = serializers.BooleanField(help_text="False when the item went off shelf.")
    stock_short = serializers.BooleanField(help_text="True when stock is below the quantity.")
    stock = serializers.IntegerField(source="sku.stock")


class CartOutput(serializers.Serializer):
    lines = CartLineOutput(many=True)
    item_count = serializers.IntegerField()
    quote = QuoteOutput(allow_null=True, help_text="Totals of the available lines.")


def _cart_response(request, *, status_code: int = status.HTTP_200_OK) -> Response:
    shopper = _shopper(request)
    cart = cart_find(shopper=shopper, session_key=_session_key(request, create=False))
    default_address = address_get_default(shopper=shopper) if shopper else None
    view = cart_view(cart=cart, province=default_address.province if default_address else None)
    return Response(CartOutput(view).data, status=status_code)


class CartApi(ShopperApiMixin, APIView):
    """The visitor's cart (a signed-in shopper's, else the session's)."""

    @extend_schema(responses={200: CartOutput}, operation_id="cart_get")
    def get(self, request):
        return _cart_response(request)


class CartItemsApi(ShopperApiMixin, APIView):
    @extend_schema(
        request=ItemInput, responses={201: CartOutput, **shopper_errors(400, 403, 409)},
        operation_id="cart_item_add",
        description="Add `quantity` of a SKU to the cart (added to the line if present).",
    )
    def post(self, request):
        data = ItemInput(data=request.data)
        data.is_valid(raise_exception=True)
        cart = cart_get_or_create(
            shopper=_shopper(request), session_key=_session_key(request, create=True)
        )
        cart_add(cart=cart, **data.validated_data)
        funnel_mark(request, "cart_adds")
        return _cart_response(request, status_code=status.HTTP_201_CREATED)


class CartItemQuantityInput(serializers.Serializer):
    quantity = serializers.IntegerField(
        min_value=0, max_value=MAX_QUANTITY_PER_LINE, help_text="0 removes the line."
    )


class CartItemApi(ShopperApiMixin, APIView):
    @extend_schema(
        request=CartItemQuantityInput, responses={200: CartOutput, **shopper_errors(400, 403, 409)},
        operation_id="cart_item_set_quantity",
    )
    def patch(self, request, sku_id: int):
        data = CartItemQuantityInput(data=request.data)
        data.is_valid(raise_exception=True)
        cart = cart_get_or_create(
            shopper=_shopper(request), session_key=_session_key(request, create=True)
        )
        cart_set_quantity(cart=cart, sku_id=sku_id, quantity=data.validated_data["quantity"])
        return _cart_response(request)

    @extend_schema(request=None, responses={200: CartOutput}, operation_id="cart_item_remove")
    def delete(self, request, sku_id: int):
        cart = cart_find(shopper=_shopper(request), session_key=_session_key(request, create=False))
        if cart is not None:
            cart_remove(cart=cart, sku_ids=[sku_id])
        return _cart_response(request)


# ------------------------------------------------------------------ checkout


class QuoteInput(serializers.Serializer):
    items = ItemInput(many=True, allow_empty=False)
    address_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


class CheckoutQuoteOutput(QuoteOutput):
    address_id = serializers.IntegerField(allow_null=True)


class CheckoutQuoteApi(ShopperApiMixin, APIView):
    @extend_schema(
        request=QuoteInput, responses={200: CheckoutQuoteOutput, **shopper_errors(400, 404, 409)},
        operation_id="checkout_quote",
        description=(
            "Price items for delivery to `address_id` (default: the shopper's default "
            "address). Prices come from the server only."
        ),
    )
    def post(self, request):
        data = QuoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        shopper = _shopper(request)
        address = None
        if "address_id" in data.validated_data:
            address = address_get_for_shopper(
                shopper=shopper, address_id=data.validated_data["address_id"]
            )
        elif shopper is not None:
            address = address_get_default(shopper=shopper)
        quote = checkout_quote(
            items=_checkout_items(data.validated_data["items"]),
            province=address.province if address else None,
        )
        body = QuoteOutput(quote).data
        body["address_id"] = address.pk if address else None
        return Response(body)


# ------------------------------------------------------------------ orders


class ShopperOrderSummaryOutput(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    status_label = serializers.SerializerMethodField()
    goods_fen = serializers.IntegerField()
    discount_fen = serializers.IntegerField()
    shipping_fen = serializers.IntegerField()
    total_fen = serializers.IntegerField()
    refunded_fen = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    pay_deadline = serializers.DateTimeField()
    lines = OrderLineOutput(many=True)

    def get_status_label(self, order) -> str:
        return str(ORDER_STATUS_LABELS.get(order.status, order.status))


class ShopperTimelineOutput(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    actor_kind = serializers.CharField()
    created_at = serializers.DateTimeField()


class OrderActionsOutput(serializers.Serializer):
    can_cancel = serializers.BooleanField()
    can_confirm_receipt = serializers.BooleanField()
    can_request_after_sales = serializers.BooleanField()


class ShopperOrderDetailOutput(ShopperOrderSummaryOutput):
    address = serializers.DictField()
    note = serializers.CharField()
    pay_seconds_left = serializers.SerializerMethodField()
    paid_at = serializers.DateTimeField(allow_null=True)
    shipped_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    timeline = ShopperTimelineOutput(source="status_changes.all", many=True)
    after_sales = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    def _cases(self, order) -> list:
        cache = self.context.setdefault("cases", {})
        if order.pk not in cache:
            cache[order.pk] = after_sales_list_for_order(order=order)
        return cache[order.pk]

    def get_pay_seconds_left(self, order) -> int:
        return pay_seconds_left(order)

    @extend_schema_field(AfterSalesCaseOutput(many=True))
    def get_after_sales(self, order):
        return AfterSalesCaseOutput(self._cases(order), many=True).data

    @extend_schema_field(OrderActionsOutput)
    def get_actions(self, order):
        return OrderActionsOutput(order_actions(order, self._cases(order))).data


def _order_detail(order) -> dict:
    return ShopperOrderDetailOutput(order, context={}).data


class OrderListInput(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[*OrderStatus.values, "after_sales"], required=False,
        help_text="An order status, or `after_sales` for orders with an after-sales case.",
    )


class PlaceOrderInput(serializers.Serializer):
    items = ItemInput(many=True, allow_empty=False)
    address_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    client_token = serializers.CharField(
        max_length=64, required=False,
        help_text="Idempotency key: retries with the same token return the same order. "
        "The `Idempotency-Key` header may stand for it.",
    )
    expected_total_fen = serializers.IntegerField(
        min_value=0, required=False,
        help_text="The total the shopper saw; a different server total is a 409 price_changed.",
    )


class OrdersApi(ShopperApiMixin, GenericAPIView):
    permission_classes = [IsShopper]
    pagination_class = OrderPagination

    @extend_schema(
        parameters=[OrderListInput], responses={200: ShopperOrderSummaryOutput(many=True),
                                                 **shopper_errors(400, 401)},
        operation_id="orders_list",
    )
    def get(self, request):
        params = OrderListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        wanted = params.validated_data.get("status")
        shopper = _shopper(request)
        if wanted == "after_sales":
            orders = order_list_for_shopper_tab(shopper=shopper, tab="after_sales")
        else:
            orders = order_list_for_shopper(shopper=shopper, status=wanted)
        page = self.paginate_queryset(orders)
        return self.get_paginated_response(ShopperOrderSummaryOutput(page, many=True).data)

    @extend_schema(
        request=PlaceOrderInput,
        parameters=[OpenApiParameter(
            "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
            description="Stands for `client_token` when the body has none.",
        )],
        responses={201: ShopperOrderDetailOutput, **shopper_errors(400, 401, 403, 409)},
        operation_id="orders_place",
    )
    def post(self, request):
        data = PlaceOrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        token = values.get("client_token") or request.headers.get("Idempotency-Key") or None
        if token is not None and len(token) > 64:
            raise serializers.ValidationError(
                {"client_token": ["At most 64 characters (Idempotency-Key too)."]}
            )
        order = order_place(
            shopper=_shopper(request),
            items=_checkout_items(values["items"]),
            address_id=values["address_id"],
            note=values["note"],
            client_token=token,
            referrer_code=request.session.get(REFERRER_SESSION_KEY),
            expected_total_fen=values.get("expected_total_fen"),
            clear_cart=True,
        )
        order = order_get_for_shopper(shopper=_shopper(request), number=order.number)
        return Response(_order_detail(order), status=status.HTTP_201_CREATED)


class OrderDetailApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]

    @extend_schema(responses={200: ShopperOrderDetailOutput, **shopper_errors(401, 404)},
                   operation_id="orders_get")
    def get(self, request, number: str):
        order = order_get_for_shopper(shopper=_shopper(request), number=number)
        return Response(_order_detail(order))


class OrderCancelApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]

    @extend_schema(
        request=None,
        responses={200: ShopperOrderDetailOutput, **shopper_errors(401, 403, 404, 409)},
        operation_id="orders_cancel",
    )
    def post(self, request, number: str):
        shopper = _shopper(request)
        order = order_get_for_shopper(shopper=shopper, number=number)
        order_cancel_unpaid(
            order=order, actor=Actor.shopper(shopper.pk),
            reason="cancelled by the shopper",
        )
        return Response(_order_detail(order_get_for_shopper(shopper=shopper, number=number)))


class OrderConfirmReceiptApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]

    @extend_schema(
        request=None,
        responses={200: ShopperOrderDetailOutput, **shopper_errors(401, 403, 404, 409)},
        operation_id="orders_confirm_receipt",
    )
    def post(self, request, number: str):
        shopper = _shopper(request)
        order = order_get_for_shopper(shopper=shopper, number=number)
        order_confirm_receipt(order=order, shopper=shopper)
        return Response(_order_detail(order_get_for_shopper(shopper=shopper, number=number)))


# ------------------------------------------------------------------ after-sales


class JsonListField(serializers.ListField):
    """A list; in a multipart form (which cannot nest) it may come as one JSON string."""

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            values = dictionary.getlist(self.field_name)
            if len(values) == 1 and isinstance(values[0], str):
                try:
                    return json.loads(values[0])
                except ValueError:
                    return values[0]
        return super().get_value(dictionary)


class RefundItemInput(serializers.Serializer):
    order_line_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY_PER_LINE)


class AfterSalesInput(serializers.Serializer):
    items = JsonListField(
        child=RefundItemInput(), allow_empty=False,
        help_text="[{order_line_id, quantity}]; in multipart, one JSON-encoded field.",
    )
    reason = serializers.ChoiceField(choices=list(REASONS))
    description = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                        default="")
    photos = serializers.ListField(
        child=serializers.FileField(), required=False, max_length=MAX_PHOTOS, default=list,
        help_text=f"Up to {MAX_PHOTOS} JPEG, PNG or WebP images of at most 5 MB each.",
    )


class OrderAfterSalesApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses={200: AfterSalesCaseOutput(many=True), **shopper_errors(401, 404)},
                   operation_id="orders_after_sales_list")
    def get(self, request, number: str):
        order = order_get_for_shopper(shopper=_shopper(request), number=number)
        return Response(
            AfterSalesCaseOutput(after_sales_list_for_order(order=order), many=True).data
        )

    @extend_schema(
        request={"multipart/form-data": AfterSalesInput, "application/json": AfterSalesInput},
        responses={201: AfterSalesCaseOutput, **shopper_errors(400, 401, 403, 404, 409)},
        operation_id="orders_after_sales_request",
    )
    def post(self, request, number: str):
        shopper = _shopper(request)
        order = order_get_for_shopper(shopper=shopper, number=number)
        data = AfterSalesInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        photos = [
            image_check(upload=upload, field="photos").as_file() for upload in values["photos"]
        ]
        case = after_sales_request(
            order=order, shopper_id=shopper.pk,
            items=[RefundItem(**item) for item in values["items"]],
            reason=values["reason"], description=values["description"], photos=photos,
        )
        case = after_sales_get_for_shopper(shopper=shopper, request_id=case.pk)
        return Response(AfterSalesCaseOutput(case).data, status=status.HTTP_201_CREATED)


class AfterSalesWithdrawApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]

    @extend_schema(
        request=None, responses={200: AfterSalesCaseOutput, **shopper_errors(401, 403, 404, 409)},
        operation_id="after_sales_withdraw",
    )
    def post(self, request, request_id: int):
        shopper = _shopper(request)
        case = after_sales_get_for_shopper(shopper=shopper, request_id=request_id)
        after_sales_withdraw(request_id=case.pk, shopper_id=shopper.pk)
        case = after_sales_get_for_shopper(shopper=shopper, request_id=case.pk)
        return Response(AfterSalesCaseOutput(case).data)
