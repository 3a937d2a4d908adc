"""The overview's JSON endpoints under /console/dashboard/ (the charts on the console home
fetch them). Same permission as the figures on the home: merchant_console.view_dashboard."""

from __future__ import annotations

from django.http import JsonResponse

from merchant_console import dashboard_data
from merchant_console.access import staff_page
from storefront.insights.errors import InsightsInvalid
from storefront.insights.selectors import period_parse

DASHBOARD_PERMISSION = "merchant_console.view_dashboard"


def _refused(exc: InsightsInvalid) -> JsonResponse:
    return JsonResponse({"code": exc.code, "message": exc.message, "fields": exc.fields},
                        status=exc.status)


@staff_page(DASHBOARD_PERMISSION)
def sales_json(request):
    try:
        period = period_parse(request.GET.get("period"))
        return JsonResponse(dashboard_data.sales_payload(
            period=period, by=request.GET.get("by") or "sales"))
    except InsightsInvalid as exc:
        return _refused(exc)


@staff_page(DASHBOARD_PERMISSION)
def funnel_json(request):
    try:
        return JsonResponse(dashboard_data.funnel_payload(
            period=period_parse(request.GET.get("period"))))
    except InsightsInvalid as exc:
        return _refused(exc)


@staff_page(DASHBOARD_PERMISSION)
def network_json(request):
    try:
        return JsonResponse(dashboard_data.network_payload(
            root=request.GET.get("root"), limit=request.GET.get("limit")))
    except InsightsInvalid as exc:
        return _refused(exc)
