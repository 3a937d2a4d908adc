"""Staff API: customer-service tickets (under /api/v1/console/)."""

from django.urls import path

from merchant_console.api import support as api

urlpatterns = [
    path("tickets/", api.StaffTicketListApi.as_view(), name="console-api-tickets"),
    path("tickets/<str:ticket_number>/", api.StaffTicketDetailApi.as_view(),
         name="console-api-ticket"),
    path("tickets/<str:ticket_number>/reply/", api.StaffTicketReplyApi.as_view(),
         name="console-api-ticket-reply"),
    path("tickets/<str:ticket_number>/assign/", api.StaffTicketAssignApi.as_view(),
         name="console-api-ticket-assign"),
    path("tickets/<str:ticket_number>/status/", api.StaffTicketStatusApi.as_view(),
         name="console-api-ticket-status"),
]
