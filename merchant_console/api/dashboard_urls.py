"""Staff API: the dashboards (under /api/v1/console/dashboard/)."""

from django.urls import path

from merchant_console.api import dashboard as api

urlpatterns = [
    path("sales/", api.DashboardSalesApi.as_view(), name="console-api-dashboard-sales"),
    path("funnel/", api.DashboardFunnelApi.as_view(), name="console-api-dashboard-funnel"),
    path("network/", api.DashboardNetworkApi.as_view(), name="console-api-dashboard-network"),
]
