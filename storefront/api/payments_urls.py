from django.urls import path

from storefront.api import payments

urlpatterns = [
    path("payments/", payments.PaymentStartApi.as_view(), name="api-payment-start"),
    path(
        "payments/<str:out_trade_no>/", payments.PaymentStatusApi.as_view(),
        name="api-payment-status",
    ),
    path("payments/wechat/notify/", payments.wechat_pay_notify, name="wechat-pay-notify"),
    path(
        "payments/wechat/refund-notify/", payments.wechat_refund_notify,
        name="wechat-refund-notify",
    ),
    path(
        "payments/wechat/transfer-notify/", payments.wechat_transfer_notify,
        name="wechat-transfer-notify",
    ),
]
