"""Shopper API: cart, checkout, orders, after-sales (under /api/v1/)."""

from django.urls import path

from storefront.api import orders as api

urlpatterns = [
    path("cart/", api.CartApi.as_view(), name="api-cart"),
    path("cart/items/", api.CartItemsApi.as_view(), name="api-cart-items"),
    path("cart/items/<int:sku_id>/", api.CartItemApi.as_view(), name="api-cart-item"),
    path("checkout/quote/", api.CheckoutQuoteApi.as_view(), name="api-checkout-quote"),
    path("orders/", api.OrdersApi.as_view(), name="api-orders"),
    path("orders/<str:number>/", api.OrderDetailApi.as_view(), name="api-order"),
    path("orders/<str:number>/cancel/", api.OrderCancelApi.as_view(), name="api-order-cancel"),
    path(
        "orders/<str:number>/confirm-receipt/", api.OrderConfirmReceiptApi.as_view(),
        name="api-order-confirm-receipt",
    ),
    path(
        "orders/<str:number>/after-sales/", api.OrderAfterSalesApi.as_view(),
        name="api-order-after-sales",
    ),
    path(
        "after-sales/<int:request_id>/withdraw/", api.AfterSalesWithdrawApi.as_view(),
        name="api-after-sales-withdraw",
    ),
]
