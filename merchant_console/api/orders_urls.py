"""Staff API: orders and after-sales cases (under /api/v1/console/)."""

from django.urls import path

from merchant_console.api import exports
from merchant_console.api import orders as api

urlpatterns = [
    path("orders/", api.StaffOrderListApi.as_view(), name="console-api-orders"),
    path("orders/counts/", api.StaffOrderCountsApi.as_view(), name="console-api-order-counts"),
    path("orders/exports/", exports.OrderExportStartApi.as_view(),
         name="console-api-orders-exports"),
    path("orders/exports/<int:job_id>/", exports.OrderExportStatusApi.as_view(),
         name="console-api-orders-export"),
    path("orders/bulk-ship/", api.StaffOrderBulkShipApi.as_view(),
         name="console-api-orders-bulk-ship"),
    path("orders/<str:number>/", api.StaffOrderDetailApi.as_view(), name="console-api-order"),
    path(
        "orders/<str:number>/ship/", api.StaffOrderShipApi.as_view(),
        name="console-api-order-ship",
    ),
    path("after-sales/", api.StaffAfterSalesListApi.as_view(), name="console-api-after-sales"),
    path("after-sales/counts/", api.StaffAfterSalesCountsApi.as_view(),
         name="console-api-after-sales-counts"),
    path("after-sales/<int:request_id>/", api.StaffAfterSalesDetailApi.as_view(),
         name="console-api-after-sales-case"),
    path(
        "after-sales/<int:request_id>/approve/", api.StaffAfterSalesApproveApi.as_view(),
        name="console-api-after-sales-approve",
    ),
    path(
        "after-sales/<int:request_id>/reject/", api.StaffAfterSalesRejectApi.as_view(),
        name="console-api-after-sales-reject",
    ),
    path(
        "after-sales/<int:request_id>/retry/", api.StaffAfterSalesRetryApi.as_view(),
        name="console-api-after-sales-retry",
    ),
]
