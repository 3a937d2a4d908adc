from django.urls import path

from merchant_console import (
    dashboard_views,
    distribution_views,
    orders_views,
    payments_views,
    settings_views,
    sign_in_locks,
    staff_views,
    support_views,
    views,
    wechat_pay,
)

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/sales.json", dashboard_views.sales_json, name="dashboard-sales"),
    path("dashboard/funnel.json", dashboard_views.funnel_json, name="dashboard-funnel"),
    path("dashboard/network.json", dashboard_views.network_json, name="dashboard-network"),
    path("login/", views.ConsoleLoginView.as_view(), name="login"),
    path("logout/", views.ConsoleLogoutView.as_view(), name="logout"),
    path("handoff/", views.handoff, name="handoff"),
    path("orders/", orders_views.orders, name="orders"),
    path("orders/export/", orders_views.export, name="orders-export"),
    path("orders/bulk-ship/", orders_views.bulk_ship, name="orders-bulk-ship"),
    path("orders/<str:number>/", orders_views.order_detail, name="order"),
    path("orders/<str:number>/ship/", orders_views.ship, name="order-ship"),
    path("after-sales/", orders_views.after_sales, name="after-sales"),
    path("after-sales/<int:case_id>/", orders_views.after_sales_case, name="after-sales-case"),
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
    # 客服: tickets from shoppers
    path("service/", support_views.tickets, name="tickets"),
    path("service/tickets/<str:ticket_number>/", support_views.ticket, name="ticket"),
    path("service/tickets/<str:ticket_number>/reply/", support_views.ticket_reply,
         name="ticket-reply"),
    path("service/tickets/<str:ticket_number>/assign/", support_views.ticket_assign,
         name="ticket-assign"),
    path("service/tickets/<str:ticket_number>/status/", support_views.ticket_status,
         name="ticket-status"),
]
