"""The staff API of customer service (under /api/v1/console/tickets/): the queue, a
ticket with its conversation, reply, assign, change status.

The same permissions as the pages: reading needs `support.view_ticket`, acting
`support.change_ticket`; the actions go through merchant_console.support, so they leave
the same audit rows. An unknown number is a 404, bad input a 400 naming the field, a move
the ticket's state refuses (or a reply to a closed ticket) a 409."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import staff_errors
from merchant_console.api.orders import (
    ConsolePagination,
    ConsoleShopperRefOutput,
    ConsoleTimelineOutput,
)
from merchant_console.api.permissions import StaffApiMixin
from merchant_console.support import staff_ticket_assign, staff_ticket_reply, staff_ticket_status
from storefront.support.models import (
    BODY_MAX,
    AuthorKind,
    TicketStatus,
    WeChatDelivery,
)
from storefront.support.selectors import (
    ticket_get,
    ticket_list,
    ticket_next_statuses,
)

VIEW = {"GET": "support.view_ticket"}
CHANGE = {"POST": "support.change_ticket"}


class StaffTicketSummaryOutput(serializers.Serializer):
    number = serializers.CharField()
    subject = serializers.CharField()
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    shopper = ConsoleShopperRefOutput()
    order_number = serializers.CharField(source="order.number", allow_null=True, default=None)
    assignee_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    last_message_at = serializers.DateTimeField()
    last_message_by = serializers.ChoiceField(choices=AuthorKind.choices)


class StaffTicketMessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    author_kind = serializers.ChoiceField(choices=AuthorKind.choices)
    author_id = serializers.IntegerField()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()
    wechat_delivery = serializers.ChoiceField(choices=WeChatDelivery.choices)


class StaffTicketDetailOutput(StaffTicketSummaryOutput):
    messages = StaffTicketMessageOutput(many=True)
    timeline = ConsoleTimelineOutput(many=True)
    next_statuses = serializers.ListField(child=serializers.CharField())


def _detail(number: str) -> dict:
    ticket = ticket_get(number=number)
    ticket.timeline = list(ticket.status_changes.all())
    ticket.next_statuses = ticket_next_statuses(ticket=ticket)
    return StaffTicketDetailOutput(ticket).data


class StaffTicketListInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=TicketStatus.values, required=False)
    assignee = serializers.RegexField(
        r"^(me|none|\d{1,9})$", required=False,
        help_text="`me`, `none` (unassigned) or a staff user id.",
    )
    q = serializers.CharField(max_length=50, required=False, allow_blank=True,
                              help_text="Ticket or order number, subject, phone, nickname.")


class StaffTicketListApi(StaffApiMixin, GenericAPIView):
    required_permissions = VIEW
    pagination_class = ConsolePagination

    @extend_schema(
        parameters=[StaffTicketListInput],
        responses={200: StaffTicketSummaryOutput(many=True), **staff_errors(400, 403)},
        operation_id="console_tickets_list",
    )
    def get(self, request):
        params = StaffTicketListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        values = params.validated_data
        assignee = values.get("assignee", "")
        tickets = ticket_list(
            status=values.get("status"),
            assignee_id=request.user.pk if assignee == "me" else (
                int(assignee) if assignee.isdigit() else None),
            unassigned=assignee == "none", q=values.get("q"),
        )
        page = self.paginate_queryset(tickets)
        return self.get_paginated_response(StaffTicketSummaryOutput(page, many=True).data)


class StaffTicketDetailApi(StaffApiMixin, APIView):
    required_permissions = VIEW

    @extend_schema(responses={200: StaffTicketDetailOutput, **staff_errors(403, 404)},
                   operation_id="console_tickets_get")
    def get(self, request, ticket_number: str):
        return Response(_detail(ticket_number))


class StaffTicketReplyInput(serializers.Serializer):
    body = serializers.CharField(max_length=BODY_MAX)


class StaffTicketAssignInput(serializers.Serializer):
    assignee_id = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, allow_null=True,
        help_text="A staff user who handles customer service; null: nobody.",
    )


class StaffTicketStatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=TicketStatus.values)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class StaffTicketReplyApi(StaffApiMixin, APIView):
    required_permissions = CHANGE

    @extend_schema(
        request=StaffTicketReplyInput,
        responses={200: StaffTicketDetailOutput, **staff_errors(400, 403, 404, 409)},
        operation_id="console_tickets_reply",
        description="Answer the shopper; they also get it in WeChat when they signed in "
                    "with it.",
    )
    def post(self, request, ticket_number: str):
        data = StaffTicketReplyInput(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = ticket_get(number=ticket_number)
        staff_ticket_reply(user=request.user, ticket=ticket, body=data.validated_data["body"])
        return Response(_detail(ticket.number))


class StaffTicketAssignApi(StaffApiMixin, APIView):
    required_permissions = CHANGE

    @extend_schema(
        request=StaffTicketAssignInput,
        responses={200: StaffTicketDetailOutput, **staff_errors(400, 403, 404, 409)},
        operation_id="console_tickets_assign",
    )
    def post(self, request, ticket_number: str):
        data = StaffTicketAssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = ticket_get(number=ticket_number)
        staff_ticket_assign(user=request.user, ticket=ticket,
                            assignee_id=data.validated_data["assignee_id"])
        return Response(_detail(ticket.number))


class StaffTicketStatusApi(StaffApiMixin, APIView):
    required_permissions = CHANGE

    @extend_schema(
        request=StaffTicketStatusInput,
        responses={200: StaffTicketDetailOutput, **staff_errors(400, 403, 404, 409)},
        operation_id="console_tickets_status",
    )
    def post(self, request, ticket_number: str):
        data = StaffTicketStatusInput(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = ticket_get(number=ticket_number)
        staff_ticket_status(user=request.user, ticket=ticket,
                            to_status=data.validated_data["status"],
                            reason=data.validated_data["reason"])
        return Response(_detail(ticket.number))
