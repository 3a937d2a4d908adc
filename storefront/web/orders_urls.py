"""The shopper's cart, checkout, orders and after-sales pages (names under `storefront:`)."""

from django.urls import path

from storefront.web import orders_views as views

urlpatterns = [
    path("cart/", views.cart_page, name="cart"),
    path("cart/add/", views.cart_add_view, name="cart-add"),
    path("cart/update/", views.cart_update_view, name="cart-update"),
    path("cart/remove/", views.cart_remove_view, name="cart-remove"),
    path("checkout/", views.checkout_page, name="checkout"),
    path("orders/", views.order_list_page, name="orders"),
    path("orders/<str:number>/", views.order_detail_page, name="order-detail"),
    path("orders/<str:number>/cancel/", views.order_cancel_view, name="order-cancel"),
    path(
        "orders/<str:number>/confirm-receipt/", views.order_confirm_receipt_view,
        name="order-confirm-receipt",
    ),
    path("orders/<str:number>/after-sales/", views.after_sales_page, name="order-after-sales"),
    path(
        "orders/<str:number>/after-sales/<int:request_id>/withdraw/",
        views.after_sales_withdraw_view, name="after-sales-withdraw",
    ),
]
