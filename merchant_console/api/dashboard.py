"""The staff API of the dashboards (under /api/v1/console/dashboard/): the same figures as
the console's overview, with the same permission (merchant_console.view_dashboard).
Period: `today`, `7d` or `30d` (Asia/Shanghai days ending today); money in fen, rates in
basis points. Bad input answers 400 {code, message, fields}."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import staff_errors
from merchant_console import dashboard_data
from merchant_console.api.permissions import StaffApiMixin
from storefront.insights.selectors import period_parse

_PERMISSION = {"GET": "merchant_console.view_dashboard"}
_PERIOD = OpenApiParameter("period", str, enum=["today", "7d", "30d"],
                           description="Asia/Shanghai days ending today (default today).")


class DashboardSalesApi(StaffApiMixin, APIView):
    required_permissions = _PERMISSION

    @extend_schema(
        parameters=[_PERIOD, OpenApiParameter("by", str, enum=["sales", "commission"],
                                              description="How top distributors rank.")],
        responses={200: OpenApiTypes.OBJECT, **staff_errors(400, 403)},
        operation_id="console_dashboard_sales",
        description="GMV, orders, paying shoppers, average order, commission (net of "
                    "reversals), refund rate; per day; top goods and distributors.",
    )
    def get(self, request):
        period = period_parse(request.query_params.get("period"))
        return Response(dashboard_data.sales_payload(
            period=period, by=request.query_params.get("by") or "sales"))


class DashboardFunnelApi(StaffApiMixin, APIView):
    required_permissions = _PERMISSION

    @extend_schema(parameters=[_PERIOD],
                   responses={200: OpenApiTypes.OBJECT, **staff_errors(400, 403)},
                   operation_id="console_dashboard_funnel",
                   description="Visits → product views → cart adds → orders → payments.")
    def get(self, request):
        return Response(dashboard_data.funnel_payload(
            period=period_parse(request.query_params.get("period"))))


class DashboardNetworkApi(StaffApiMixin, APIView):
    required_permissions = _PERMISSION

    @extend_schema(
        parameters=[OpenApiParameter("root", int, description="Drill into this distributor."),
                    OpenApiParameter("limit", int, description="At most this many nodes "
                                     "(1–500, default 150).")],
        responses={200: OpenApiTypes.OBJECT, **staff_errors(400, 403)},
        operation_id="console_dashboard_network",
        description="The recruitment tree: the top two levels, or a distributor and the "
                    "two levels below them.",
    )
    def get(self, request):
        return Response(dashboard_data.network_payload(
            root=request.query_params.get("root"), limit=request.query_params.get("limit")))
