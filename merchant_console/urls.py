from django.urls import path

from merchant_console import (
    distribution_views,
    goods_views,
    orders_views,
    payments_views,
    settings_views,
    sign_in_locks,
    staff_views,
    views,
    wechat_pay,
)

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.ConsoleLoginView.as_view(), name="login"),
    path("logout/", views.ConsoleLogoutView.as_view(), name="logout"),
    path("handoff/", views.handoff, name="handoff"),
    path("orders/", orders_views.orders, name="orders"),
    path("orders/<str:number>/ship/", orders_views.ship, name="order-ship"),
    path("after-sales/", orders_views.after_sales, name="after-sales"),
    path(
        "after-sales/<int:case_id>/decide/", orders_views.after_sales_decide,
        name="after-sales-decide",
    ),
    path("wechat-pay/", wechat_pay.wechat_pay_page, name="wechat-pay"),
    path("payments/alerts/", payments_views.payment_alerts, name="payment-alerts"),
    path("sign-in-locks/", sign_in_locks.sign_in_locks, name="sign-in-locks"),
    path("settings/", settings_views.mall_settings, name="settings"),
    path("settings/staff/", staff_views.staff_list, name="staff"),
    path("settings/staff/action/", staff_views.staff_action, name="staff-action"),
    path("settings/audit/", staff_views.audit_log, name="audit"),
    path("invitations/", staff_views.invitation_accept, {"token": ""}, name="invitations"),
    path("invitations/<str:token>/", staff_views.invitation_accept, name="invitation"),
    path("distribution/compliance/", distribution_views.compliance_page,
         name="distribution-compliance"),
]

# 商品 (goods): merchant_console.goods_views
urlpatterns += [
    path("goods/", goods_views.products, name="products"),
    path("goods/shelf/", goods_views.products_shelf, name="products-shelf"),
    path("goods/new/", goods_views.product_new, name="product-new"),
    path("goods/<int:product_id>/", goods_views.product_edit, name="product-edit"),
    path("goods/<int:product_id>/images/", goods_views.product_image_add,
         name="product-images"),
    path("goods/<int:product_id>/images/order/", goods_views.product_images_order,
         name="product-images-order"),
    path("goods/<int:product_id>/images/<int:image_id>/delete/",
         goods_views.product_image_delete, name="product-image-delete"),
    path("goods/categories/", goods_views.categories, name="categories"),
    path("goods/categories/<int:category_id>/", goods_views.category_edit,
         name="category-edit"),
    path("goods/categories/<int:category_id>/delete/", goods_views.category_delete,
         name="category-delete"),
    path("goods/banners/", goods_views.banners, name="banners"),
    path("goods/banners/<int:banner_id>/", goods_views.banner_edit, name="banner-edit"),
    path("goods/banners/<int:banner_id>/delete/", goods_views.banner_delete,
         name="banner-delete"),
    path("goods/transfer/", goods_views.goods_transfer, name="goods-transfer"),
    path("goods/transfer/export/", goods_views.goods_export, name="goods-export"),
    path("goods/transfer/imports/<int:job_id>/", goods_views.goods_import_status,
         name="goods-import-status"),
]
