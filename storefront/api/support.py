"""The shopper API of customer service: my tickets, open one, read one, reply.

A shopper reaches only their own tickets: another shopper's number is the same 404 as a
missing one. Bad input is a 400 naming the field, a reply to a closed ticket a 409."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import shopper_errors
from storefront.api.auth import IsShopper, ShopperApiMixin
from storefront.support.models import BODY_MAX, SUBJECT_MAX, AuthorKind, TicketStatus
from storefront.support.selectors import (
    ticket_get_for_shopper,
    ticket_list_for_shopper,
    ticket_messages,
)
from storefront.support.services import ticket_open, ticket_reply_by_shopper


def _shopper(request):
    return getattr(request._request, "shopper", None)


class TicketPagination(PageNumberPagination):
    page_size = 10
    page_size_query_param = "page_size"
    max_page_size = 50


class TicketMessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    author_kind = serializers.ChoiceField(choices=AuthorKind.choices)
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class TicketSummaryOutput(serializers.Serializer):
    number = serializers.CharField()
    subject = serializers.CharField()
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    order_number = serializers.CharField(source="order.number", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    last_message_at = serializers.DateTimeField()
    last_message_by = serializers.ChoiceField(choices=AuthorKind.choices)


class TicketDetailOutput(TicketSummaryOutput):
    messages = serializers.SerializerMethodField()

    @extend_schema_field(TicketMessageOutput(many=True))
    def get_messages(self, ticket) -> list[dict]:
        return TicketMessageOutput(ticket_messages(ticket=ticket), many=True).data


class TicketOpenInput(serializers.Serializer):
    subject = serializers.CharField(max_length=SUBJECT_MAX)
    body = serializers.CharField(max_length=BODY_MAX)
    order_number = serializers.CharField(
        max_length=32, required=False, allow_blank=True,
        help_text="One of my orders this question is about.",
    )


class TicketReplyInput(serializers.Serializer):
    body = serializers.CharField(max_length=BODY_MAX)


class TicketsApi(ShopperApiMixin, GenericAPIView):
    permission_classes = [IsShopper]
    pagination_class = TicketPagination

    @extend_schema(responses={200: TicketSummaryOutput(many=True), **shopper_errors(401)},
                   operation_id="tickets_list")
    def get(self, request):
        page = self.paginate_queryset(ticket_list_for_shopper(shopper=_shopper(request)))
        return self.get_paginated_response(TicketSummaryOutput(page, many=True).data)

    @extend_schema(request=TicketOpenInput,
                   responses={201: TicketDetailOutput, **shopper_errors(400, 401, 403, 404, 409)},
                   operation_id="tickets_open",
                   description="Ask customer service a question, optionally about an order.")
    def post(self, request):
        data = TicketOpenInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        ticket = ticket_open(
            shopper=_shopper(request), subject=values["subject"], body=values["body"],
            order_number=values.get("order_number") or None,
        )
        return Response(TicketDetailOutput(ticket).data, status=status.HTTP_201_CREATED)


class TicketDetailApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]

    @extend_schema(responses={200: TicketDetailOutput, **shopper_errors(401, 404)},
                   operation_id="tickets_get")
    def get(self, request, ticket_number: str):
        ticket = ticket_get_for_shopper(shopper=_shopper(request), number=ticket_number)
        return Response(TicketDetailOutput(ticket).data)


class TicketReplyApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]

    @extend_schema(request=TicketReplyInput,
                   responses={201: TicketDetailOutput, **shopper_errors(400, 401, 403, 404, 409)},
                   operation_id="tickets_reply")
    def post(self, request, ticket_number: str):
        data = TicketReplyInput(data=request.data)
        data.is_valid(raise_exception=True)
        shopper = _shopper(request)
        ticket = ticket_get_for_shopper(shopper=shopper, number=ticket_number)
        ticket_reply_by_shopper(ticket_id=ticket.pk, shopper=shopper,
                                body=data.validated_data["body"])
        ticket = ticket_get_for_shopper(shopper=shopper, number=ticket_number)
        return Response(TicketDetailOutput(ticket).data, status=status.HTTP_201_CREATED)
