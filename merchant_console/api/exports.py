"""Staff API of exports: `POST <area>/exports/` starts an export job with the area's old
export parameters (in the query string or the body) and answers 202 with its id;
`GET <area>/exports/<id>/` tells its progress and, once written, where to download it.
Each asks for the permission of its area, as the console's export pages do."""

from __future__ import annotations

from django.db import transaction
from django.http import QueryDict
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import staff_errors
from merchant_console import exports
from merchant_console import orders_console as console
from merchant_console.api.orders import order_query_from
from merchant_console.api.permissions import StaffApiMixin
from merchant_console.audit import audit_record
from merchant_console.finance import EXPORT_FORMATS, journal_export_start, period_from
from merchant_console.models import ExportJob
from storefront.catalog import transfer


class ExportJobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    file_format = serializers.CharField()
    parameters = serializers.JSONField()
    status = serializers.CharField()
    rows_done = serializers.IntegerField()
    rows_total = serializers.IntegerField()
    percent = serializers.IntegerField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, job) -> str | None:
        if job.status != ExportJob.Status.DONE:
            return None
        return self.context["request"].build_absolute_uri(
            reverse("console:export-download", args=[job.pk]))


class ExportStartedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status_url = serializers.CharField()


def _params(request) -> QueryDict:
    """The query string's parameters, overridden by the body's (either may carry them)."""
    params = request.query_params.copy()
    for key, value in (request.data or {}).items():
        params[key] = value
    return params


class _ExportStart(StaffApiMixin, APIView):
    kind: str
    status_name: str

    def started(self, request, job: ExportJob) -> Response:
        url = reverse(self.status_name, args=[job.pk])
        return Response({"id": job.pk, "status_url": request.build_absolute_uri(url)},
                        status=202, headers={"Location": url})


class _ExportStatus(StaffApiMixin, APIView):
    kind: str

    @extend_schema(responses={200: ExportJobOutput, **staff_errors(403, 404)})
    def get(self, request, job_id: int):
        job = ExportJob.objects.filter(pk=job_id, kind=self.kind).first()
        if job is None:
            raise exports.ExportNotFound()
        return Response(ExportJobOutput(job, context={"request": request}).data)


class GoodsExportStartApi(_ExportStart):
    """Every product with its active SKUs, one row per SKU."""

    kind = ExportJob.Kind.GOODS
    status_name = "console-api-goods-export"
    required_permissions = {"POST": "catalog.view_product"}

    @extend_schema(parameters=[OpenApiParameter("file_format", str, enum=list(transfer.FORMATS),
                                                default="csv")],
                   request=None, responses={202: ExportStartedOutput, **staff_errors(400, 403)},
                   operation_id="console_goods_export_start")
    def post(self, request):
        file_format = _params(request).get("file_format", "csv")
        if file_format not in transfer.FORMATS:
            raise exceptions.ValidationError({"file_format": ["Choose csv or xlsx."]})
        with transaction.atomic():
            job = exports.export_request(user=request.user, kind=self.kind,
                                         file_format=file_format, parameters={})
            audit_record(actor=request.user, area="goods", action="goods.export",
                         target=file_format, detail={"job": job.pk})
        return self.started(request, job)


class GoodsExportStatusApi(_ExportStatus):
    kind = ExportJob.Kind.GOODS
    required_permissions = {"GET": "catalog.view_product"}


class OrderExportStartApi(_ExportStart):
    """The orders matching the list's filters (the list's query parameters), CSV (UTF-8
    with BOM) or XLSX."""

    kind = ExportJob.Kind.ORDERS
    status_name = "console-api-orders-export"
    required_permissions = {"POST": "orders.view_order"}

    @extend_schema(parameters=[OpenApiParameter("kind", enum=["csv", "xlsx"], default="csv")],
                   request=None, responses={202: ExportStartedOutput, **staff_errors(400, 403)},
                   operation_id="console_orders_export_start",
                   description="Also takes the order list's filters (q, status, date_from, "
                               f"date_to, shopper, distributor); at most "
                               f"{console.EXPORT_MAX_ROWS} rows.")
    def post(self, request):
        params = _params(request)
        kind = params.get("kind", "csv")
        if kind not in ("csv", "xlsx"):
            raise console.FilterInvalid("Export as csv or xlsx.",
                                        fields={"kind": ["One of: csv, xlsx."]})
        job = console.export_start(user=request.user, query=order_query_from(params), kind=kind)
        return self.started(request, job)


class OrderExportStatusApi(_ExportStatus):
    kind = ExportJob.Kind.ORDERS
    required_permissions = {"GET": "orders.view_order"}


class FinanceExportStartApi(_ExportStart):
    """The journal of the period (one row per leg) and the account balances, amounts in
    yuan with two decimals."""

    kind = ExportJob.Kind.FINANCE
    status_name = "console-api-finance-export"
    required_permissions = {"POST": "merchant_console.view_finance"}

    @extend_schema(parameters=[
                       OpenApiParameter("start", str), OpenApiParameter("end", str),
                       OpenApiParameter("file_format", str, enum=list(EXPORT_FORMATS),
                                        description="xlsx (default) or csv")],
                   request=None, responses={202: ExportStartedOutput, **staff_errors(400, 403)},
                   operation_id="console_finance_export_start")
    def post(self, request):
        params = _params(request)
        # Not `format`: DRF reads that one to choose its own renderer.
        fmt = params.get("file_format") or "xlsx"
        if fmt not in EXPORT_FORMATS:
            raise exceptions.ValidationError({"file_format": ["Choose xlsx or csv."]})
        form, period = period_from(params)
        if period is None:
            raise exceptions.ValidationError(
                {"period" if field == "__all__" else field: [str(e) for e in errors]
                 for field, errors in form.errors.items()})
        job = journal_export_start(user=request.user, period=period, fmt=fmt)
        return self.started(request, job)


class FinanceExportStatusApi(_ExportStatus):
    kind = ExportJob.Kind.FINANCE
    required_permissions = {"GET": "merchant_console.view_finance"}
