"""Shopper API: customer-service tickets (under /api/v1/)."""

from django.urls import path

from storefront.api import support as api

urlpatterns = [
    path("tickets/", api.TicketsApi.as_view(), name="api-tickets"),
    path("tickets/<str:ticket_number>/", api.TicketDetailApi.as_view(), name="api-ticket"),
    path(
        "tickets/<str:ticket_number>/reply/", api.TicketReplyApi.as_view(),
        name="api-ticket-reply",
    ),
]
