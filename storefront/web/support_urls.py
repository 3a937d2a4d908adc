"""The shopper's customer-service pages (names under `storefront:`)."""

from django.urls import path

from storefront.web import support_views as views

urlpatterns = [
    path("help/", views.help_page, name="help"),
    path("help/tickets/", views.ticket_list_page, name="tickets"),
    path("help/tickets/<str:ticket_number>/", views.ticket_page, name="ticket"),
    path(
        "help/tickets/<str:ticket_number>/reply/", views.ticket_reply_view,
        name="ticket-reply",
    ),
]
