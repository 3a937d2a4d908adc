"""The staff API for orders and after-sales cases (under /api/v1/console/): the same
filters, detail, actions and export as the console's pages, through the same code
(merchant_console.orders_console), with the same permissions and audit rows.

Staff of this mall only (StaffPermission; staff accounts live in the mall's own schema, so a
session from another mall is nobody here), holding the Django permission each view names
(`orders.view_order`, `orders.change_order`, `orders.view_aftersalesrequest`,
`orders.change_aftersalesrequest`; the owner is a superuser and holds them all). One view
per operation, an input and an output serializer each; illegal moves come back from the
services as 409 with their message.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import staff_errors
from merchant_console import orders_console as console
from merchant_console.api.permissions import StaffApiMixin
from storefront.api.order_serializers import AfterSalesCaseOutput, OrderLineOutput
from storefront.orders.after_sales import REASONS
from storefront.orders.models import AfterSalesStatus, OrderStatus
from storefront.orders.selectors import (
    AfterSalesFilters,
    OrderFilters,
    after_sales_get,
    after_sales_list_page,
    after_sales_search,
    after_sales_status_counts,
    order_get,
    order_list_page,
)
from storefront.payments.selectors import refunds_for_case
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


class HistoryEntryOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(
        choices=["status", "shipment", "payment", "refund", "after_sales"])
    title = serializers.CharField()
    actor = serializers.CharField()
    reason = serializers.CharField()
    reference = serializers.CharField()


class CommissionTierOutput(serializers.Serializer):
    kind = serializers.CharField()
    tier = serializers.IntegerField(help_text="1 to 3; 0 for a team leader's reward.")
    amount_fen = serializers.IntegerField()
    reversed_fen = serializers.IntegerField()
    net_fen = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField(),
                                      help_text="Net fen in each state.")


class CommissionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    tier = serializers.IntegerField()
    order_line_id = serializers.IntegerField()
    distributor_id = serializers.IntegerField()
    distributor_invite_code = serializers.CharField(source="distributor.invite_code")
    base_fen = serializers.IntegerField()
    rate_bp = serializers.IntegerField()
    amount_fen = serializers.IntegerField()
    reversed_fen = serializers.IntegerField()
    status = serializers.CharField()


class MoneyOutput(serializers.Serializer):
    total_fen = serializers.IntegerField()
    paid_fen = serializers.IntegerField()
    refunded_fen = serializers.IntegerField()
    refunding_fen = serializers.IntegerField(help_text="Refunds WeChat has not finished.")
    commissions_fen = serializers.IntegerField(
        allow_null=True, help_text="Net of reversals; null for staff who may not see "
                                   "commissions (customer service).")
    kept_fen = serializers.IntegerField(allow_null=True)
    attributed_distributor_id = serializers.SerializerMethodField()
    tiers = CommissionTierOutput(many=True)
    commissions = CommissionOutput(many=True)

    @extend_schema_field(OpenApiTypes.INT)
    def get_attributed_distributor_id(self, money) -> int | None:
        return getattr(money.attribution, "distributor_id", None)


class StaffOrderFullOutput(StaffOrderDetailOutput):
    """The order with its whole history (status changes, payments, refunds, after-sales
    cases, shipment) and its money."""

    history = HistoryEntryOutput(many=True)
    money = MoneyOutput()


def _detail_for(request, number: str) -> dict:
    detail = console.order_detail(number=number,
                                  with_commissions=console.may_see_commissions(request.user))
    order = detail.order
    order.history = detail.timeline
    order.money = detail.money
    return StaffOrderFullOutput(order).data


# ------------------------------------------------------------------ orders


class StaffOrderListInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.values, required=False)
    q = serializers.CharField(
        max_length=40, required=False, allow_blank=True,
        help_text="The start of an order number or of a phone (shopper's or recipient's), "
                  "part of the shopper's nickname or the recipient's name, or a tracking "
                  "number.")
    date_from = serializers.DateField(required=False,
                                      help_text="Placed on or after this Shanghai day.")
    date_to = serializers.DateField(required=False,
                                    help_text="Placed on or before this Shanghai day.")
    shopper = serializers.CharField(max_length=20, required=False, allow_blank=True,
                                    help_text="A shopper's id or phone number.")
    distributor = serializers.CharField(
        max_length=20, required=False, allow_blank=True,
        help_text="The distributor who brought the orders in: invite code or id.")

    def validate(self, data):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise serializers.ValidationError({"date_to": "Before date_from."})
        return data


def _order_query(request) -> console.OrderQuery:
    return order_query_from(request.query_params)


def order_query_from(query_params) -> console.OrderQuery:
    """The list's filters from the query string; bad or unknown ones are a 400."""
    params = StaffOrderListInput(data=query_params)
    params.is_valid(raise_exception=True)
    data = params.validated_data
    return console.OrderQuery(
        filters=OrderFilters(q=data.get("q", ""), date_from=data.get("date_from"),
                             date_to=data.get("date_to"),
                             shopper_id=console.shopper_ref_resolve(data.get("shopper", ""))),
        status=data.get("status", ""),
        distributor=console.distributor_ref_resolve(data.get("distributor", "")),
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
        orders, _counts = console.orders_for_query(_order_query(request))
        page = self.paginate_queryset(order_list_page(orders=orders))
        return self.get_paginated_response(StaffOrderSummaryOutput(page, many=True).data)


class StatusCountsOutput(serializers.Serializer):
    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())


class StaffOrderCountsApi(StaffApiMixin, APIView):
    required_permissions = {"GET": "orders.view_order"}

    @extend_schema(
        parameters=[StaffOrderListInput],
        responses={200: StatusCountsOutput, **staff_errors(400, 403)},
        operation_id="console_orders_counts",
        description="How many orders of each status match the filters (the list's tabs; "
                    "`status` is ignored).",
    )
    def get(self, request):
        _orders, counts = console.orders_for_query(_order_query(request))
        return Response({"total": sum(counts.values()), "by_status": counts})


class StaffOrderDetailApi(StaffApiMixin, APIView):
    required_permissions = {"GET": "orders.view_order"}

    @extend_schema(responses={200: StaffOrderFullOutput, **staff_errors(403, 404)},
                   operation_id="console_orders_get",
                   description="The order, its lines and address, its history (status "
                               "changes with who and when, payments, refunds, after-sales "
                               "cases, shipment) and its money (paid, refunded, commissions "
                               "by tier and state: null for customer service).")
    def get(self, request, number: str):
        return Response(_detail_for(request, number))


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
        order_get(number=number)  # 404 before 400/409
        console.console_order_ship(user=request.user, number=number, **data.validated_data)
        return Response(_detail_for(request, number))


class BulkShipInput(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or XLSX: order_number, carrier, "
                                           "tracking_number (or 订单号, 快递公司, 运单号).")


class BulkRowOutput(serializers.Serializer):
    row = serializers.IntegerField(help_text="The file's row number (the header is row 1).")
    number = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    ok = serializers.BooleanField()
    reason = serializers.CharField(help_text="Why the row was not shipped.")


class BulkResultOutput(serializers.Serializer):
    shipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    rows = BulkRowOutput(many=True)


class StaffOrderBulkShipApi(StaffApiMixin, APIView):
    required_permissions = {"POST": "orders.change_order"}
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": BulkShipInput},
        responses={200: BulkResultOutput, **staff_errors(400, 403)},
        operation_id="console_orders_bulk_ship",
        description="Ship the orders of a file. Each order is shipped in its own "
                    "transaction: good rows are shipped, bad rows come back with their "
                    "reason and change nothing. A file that cannot be read is a 400.",
    )
    def post(self, request):
        data = BulkShipInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > console.BULK_MAX_BYTES:
            raise console.BulkFileInvalid("The file is larger than 2 MB.")
        result = console.console_bulk_ship_file(user=request.user, name=upload.name,
                                                content=upload.read())
        return Response(BulkResultOutput(result).data)


# ------------------------------------------------------------------ after-sales


class StaffAfterSalesListInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=AfterSalesStatus.values, required=False)
    q = serializers.CharField(max_length=40, required=False, allow_blank=True,
                              help_text="The start of the order number or shopper's phone.")
    reason = serializers.ChoiceField(choices=REASONS, required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


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
        data = params.validated_data
        cases = after_sales_search(filters=AfterSalesFilters(
            q=data.get("q", ""), reason=data.get("reason", ""),
            date_from=data.get("date_from"), date_to=data.get("date_to")))
        if data.get("status"):
            cases = cases.filter(status=data["status"])
        page = self.paginate_queryset(after_sales_list_page(cases=cases))
        return self.get_paginated_response(StaffAfterSalesOutput(page, many=True).data)


class ApproveInput(serializers.Serializer):
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RejectInput(serializers.Serializer):
    note = serializers.CharField(max_length=200, help_text="Why; the shopper sees it.")


class StaffAfterSalesCountsApi(StaffApiMixin, APIView):
    required_permissions = {"GET": "orders.view_aftersalesrequest"}

    @extend_schema(parameters=[StaffAfterSalesListInput],
                   responses={200: StatusCountsOutput, **staff_errors(400, 403)},
                   operation_id="console_after_sales_counts",
                   description="Cases of each status matching the filters (`status` is "
                               "ignored).")
    def get(self, request):
        params = StaffAfterSalesListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        counts = after_sales_status_counts(cases=after_sales_search(filters=AfterSalesFilters(
            q=data.get("q", ""), reason=data.get("reason", ""),
            date_from=data.get("date_from"), date_to=data.get("date_to"))))
        return Response({"total": sum(counts.values()), "by_status": counts})


class StaffAfterSalesDetailOutput(StaffAfterSalesOutput):
    events = ConsoleTimelineOutput(source="events.all", many=True)
    refunds = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_refunds(self, case) -> list[dict]:
        return [{"out_refund_no": r.out_refund_no, "amount_fen": r.amount_fen,
                 "status": r.status, "last_error": r.last_error, "created_at": r.created_at}
                for r in refunds_for_case(case_id=case.pk)]


class StaffAfterSalesDetailApi(StaffApiMixin, APIView):
    required_permissions = {"GET": "orders.view_aftersalesrequest"}

    @extend_schema(responses={200: StaffAfterSalesDetailOutput, **staff_errors(403, 404)},
                   operation_id="console_after_sales_get",
                   description="A case with its lines, photos, history and refund attempts.")
    def get(self, request, request_id: int):
        return Response(StaffAfterSalesDetailOutput(after_sales_get(request_id=request_id)).data)


def _decide(request, request_id: int, decision: str, serializer_class) -> Response:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    case = console.console_after_sales_decide(user=request.user, case_id=request_id,
                                              decision=decision,
                                              note=data.validated_data["note"])
    return Response(StaffAfterSalesDetailOutput(case).data)


class StaffAfterSalesApproveApi(StaffApiMixin, APIView):
    required_permissions = {"POST": "orders.change_aftersalesrequest"}

    @extend_schema(
        request=ApproveInput,
        responses={200: StaffAfterSalesDetailOutput, **staff_errors(400, 403, 404, 409)},
        operation_id="console_after_sales_approve",
        description="Approve the case; the refund is then made by the payments service.",
    )
    def post(self, request, request_id: int):
        return _decide(request, request_id, "approve", ApproveInput)


class StaffAfterSalesRejectApi(StaffApiMixin, APIView):
    required_permissions = {"POST": "orders.change_aftersalesrequest"}

    @extend_schema(
        request=RejectInput,
        responses={200: StaffAfterSalesDetailOutput, **staff_errors(400, 403, 404, 409)},
        operation_id="console_after_sales_reject",
    )
    def post(self, request, request_id: int):
        return _decide(request, request_id, "reject", RejectInput)


class StaffAfterSalesRetryApi(StaffApiMixin, APIView):
    required_permissions = {"POST": "orders.change_aftersalesrequest"}

    @extend_schema(
        request=ApproveInput,
        responses={200: StaffAfterSalesDetailOutput, **staff_errors(400, 403, 404, 409)},
        operation_id="console_after_sales_retry_refund",
        description="Ask for the refund of a case whose refund failed again (409 for a "
                    "case in any other state).",
    )
    def post(self, request, request_id: int):
        return _decide(request, request_id, "retry", ApproveInput)
