"""Staff API: orders and after-sales cases (under /api/v1/console/)."""

from django.urls import path

from merchant_console.api import orders as api

urlpatterns = [
    path("orders/", api.StaffOrderListApi.as_view(), name="console-api-orders"),
    path("orders/<str:number>/", api.StaffOrderDetailApi.as_view(), name="console-api-order"),
    path(
        "orders/<str:number>/ship/", api.StaffOrderShipApi.as_view(),
        name="console-api-order-ship",
    ),
    path("after-sales/", api.StaffAfterSalesListApi.as_view(), name="console-api-after-sales"),
    path(
        "after-sales/<int:request_id>/approve/", api.StaffAfterSalesApproveApi.as_view(),
        name="console-api-after-sales-approve",
    ),
    path(
        "after-sales/<int:request_id>/reject/", api.StaffAfterSalesRejectApi.as_view(),
        name="console-api-after-sales-reject",
    ),
]
