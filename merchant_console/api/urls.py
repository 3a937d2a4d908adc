"""The staff API under /api/v1/console/ on a mall's host."""

from django.urls import include, path

from merchant_console.wechat_pay import WeChatPayBindingApi

urlpatterns = [
    path("", include("merchant_console.api.products_urls")),
    path("", include("merchant_console.api.orders_urls")),
    path("dashboard/", include("merchant_console.api.dashboard_urls")),
    path("distribution/", include("merchant_console.api.distribution_urls")),
    path("", include("merchant_console.api.staff_urls")),
    path("", include("merchant_console.api.support_urls")),
    path("finance/", include("merchant_console.api.finance_urls")),
    path("settings/", include("merchant_console.api.settings_urls")),
    path("wechat-pay/", WeChatPayBindingApi.as_view(), name="api-console-wechat-pay"),
]
