"""The staff API for orders and after-sales cases (under /api/v1/console/).

Staff of this mall only (StaffPermission; staff accounts live in the mall's own schema, so a
session from another mall is nobody here), holding the Django permission each view names
(`orders.view_order`, `orders.change_order`, `orders.view_aftersalesrequest`,
`orders.change_aftersalesrequest`; the owner is a superuser and holds them all). One view
per operation, an input and an output serializer each; illegal moves come back from the
services as 409 with their message.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import staff_errors
from merchant_console.api.permissions import StaffApiMixin
from storefront.api.order_serializers import AfterSalesCaseOutput, OrderLineOutput
from storefront.orders.after_sales import after_sales_approve, after_sales_reject
from storefront.orders.models import AfterSalesStatus, OrderStatus
from storefront.orders.selectors import after_sales_get, after_sales_list, order_get, order_list
from storefront.orders.services import order_ship
from storefront.web.presenters import (
    ORDER_STATUS_LABELS,
)


class ConsolePagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


# ------------------------------------------------------------------ output


class ConsoleShopperRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    phone = serializers.CharField(allow_null=True)


class StaffOrderSummaryOutput(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    status_label = serializers.SerializerMethodField()
    shopper = ConsoleShopperRefOutput()
    goods_fen = serializers.IntegerField()
    discount_fen = serializers.IntegerField()
    shipping_fen = serializers.IntegerField()
    total_fen = serializers.IntegerField()
    refunded_fen = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    item_count = serializers.SerializerMethodField()

    def get_status_label(self, order) -> str:
        return str(ORDER_STATUS_LABELS.get(order.status, order.status))

    def get_item_count(self, order) -> int:
        return sum(line.quantity for line in order.lines.all())


class ConsoleTimelineOutput(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    actor_kind = serializers.CharField()
    actor_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    reference = serializers.CharField()
    created_at = serializers.DateTimeField()


class StaffAfterSalesOutput(AfterSalesCaseOutput):
    order_status = serializers.CharField(source="order.status")
    decided_by_id = serializers.IntegerField(allow_null=True)


class StaffOrderDetailOutput(StaffOrderSummaryOutput):
    referrer = ConsoleShopperRefOutput(allow_null=True)
    address = serializers.DictField()
    note = serializers.CharField()
    pay_deadline = serializers.DateTimeField()
    shipped_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    lines = OrderLineOutput(many=True)
    timeline = ConsoleTimelineOutput(source="status_changes.all", many=True)
    after_sales = StaffAfterSalesOutput(source="after_sales.all", many=True)


def _detail(number: str) -> dict:
    return StaffOrderDetailOutput(order_get(number=number)).data


# ------------------------------------------------------------------ orders


class StaffOrderListInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.values, required=False)
    q = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="Order number prefix."
    )


class StaffOrderListApi(StaffApiMixin, GenericAPIView):
    required_permissions = {"GET": "orders.view_order"}
    pagination_class = ConsolePagination

    @extend_schema(
        parameters=[StaffOrderListInput],
        responses={200: StaffOrderSummaryOutput(many=True), **staff_errors(400, 403)},
        operation_id="console_orders_list",
    )
    def get(self, request):
        params = StaffOrderListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        orders = order_list(
            status=params.validated_data.get("status"), q=params.validated_data.get("q")
        )
        page = self.paginate_queryset(orders)
        return self.get_paginated_response(StaffOrderSummaryOutput(page, many=True).data)


class StaffOrderDetailApi(StaffApiMixin, APIView):
    required_permissions = {"GET": "orders.view_order"}

    @extend_schema(responses={200: StaffOrderDetailOutput, **staff_errors(403, 404)},
                   operation_id="console_orders_get")
    def get(self, request, number: str):
        return Response(_detail(number))


class ShipInput(serializers.Serializer):
    carrier = serializers.CharField(max_length=30)
    tracking_number = serializers.CharField(max_length=40)


class StaffOrderShipApi(StaffApiMixin, APIView):
    required_permissions = {"POST": "orders.change_order"}

    @extend_schema(
        request=ShipInput,
        responses={200: StaffOrderDetailOutput, **staff_errors(400, 403, 404, 409)},
        operation_id="console_orders_ship",
        description="Mark a paid order shipped with its carrier and tracking number.",
    )
    def post(self, request, number: str):
        data = ShipInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_get(number=number)
        order_ship(order=order, staff_user_id=request.user.pk, **data.validated_data)
        return Response(_detail(number))


# ------------------------------------------------------------------ after-sales


class StaffAfterSalesListInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=AfterSalesStatus.values, required=False)


class StaffAfterSalesListApi(StaffApiMixin, GenericAPIView):
    required_permissions = {"GET": "orders.view_aftersalesrequest"}
    pagination_class = ConsolePagination

    @extend_schema(
        parameters=[StaffAfterSalesListInput],
        responses={200: StaffAfterSalesOutput(many=True), **staff_errors(400, 403)},
        operation_id="console_after_sales_list",
    )
    def get(self, request):
        params = StaffAfterSalesListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        cases = after_sales_list(status=params.validated_data.get("status")).order_by(
            "-created_at", "-id"
        )
        page = self.paginate_queryset(cases)
        return self.get_paginated_response(StaffAfterSalesOutput(page, many=True).data)


class ApproveInput(serializers.Serializer):
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RejectInput(serializers.Serializer):
    note = serializers.CharField(max_length=200, help_text="Why; the shopper sees it.")


class StaffAfterSalesApproveApi(StaffApiMixin, APIView):
    required_permissions = {"POST": "orders.change_aftersalesrequest"}

    @extend_schema(
        request=ApproveInput,
        responses={200: StaffAfterSalesOutput, **staff_errors(400, 403, 404, 409)},
        operation_id="console_after_sales_approve",
        description="Approve the case; the refund is then made by the payments service.",
    )
    def post(self, request, request_id: int):
        data = ApproveInput(data=request.data)
        data.is_valid(raise_exception=True)
        case = after_sales_get(request_id=request_id)
        after_sales_approve(
            request_id=case.pk, staff_user_id=request.user.pk, note=data.validated_data["note"]
        )
        return Response(StaffAfterSalesOutput(after_sales_get(request_id=case.pk)).data)


class StaffAfterSalesRejectApi(StaffApiMixin, APIView):
    required_permissions = {"POST": "orders.change_aftersalesrequest"}

    @extend_schema(
        request=RejectInput,
        responses={200: StaffAfterSalesOutput, **staff_errors(400, 403, 404, 409)},
        operation_id="console_after_sales_reject",
    )
    def post(self, request, request_id: int):
        data = RejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        case = after_sales_get(request_id=request_id)
        after_sales_reject(
            request_id=case.pk, staff_user_id=request.user.pk, note=data.validated_data["note"]
        )
        return Response(StaffAfterSalesOutput(after_sales_get(request_id=case.pk)).data)
