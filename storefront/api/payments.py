"""Payment endpoints: start a WeChat Pay payment, poll it, and WeChat's callbacks."""

from __future__ import annotations

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import error_responses, shopper_errors
from control_plane.client_ip import client_ip
from core.errors import DomainError
from storefront.api.auth import IsShopper, ShopperApiMixin
from storefront.orders.selectors import order_get_for_shopper
from storefront.payments import refunds, services, transfers
from storefront.payments.callbacks import (
    CallbackRejected,
    callback_verify,
    notification_record,
)
from storefront.payments.models import (
    NotificationOutcome,
    Payment,
    PaymentChannel,
)

logger = logging.getLogger(__name__)


class PaymentStartInput(serializers.Serializer):
    order_number = serializers.CharField(max_length=32)
    channel = serializers.ChoiceField(choices=PaymentChannel.choices, required=False)


class PaymentStartOutput(serializers.Serializer):
    out_trade_no = serializers.CharField(source="payment.out_trade_no")
    channel = serializers.CharField()
    amount_fen = serializers.IntegerField(source="payment.amount_fen")
    jsapi_params = serializers.DictField()
    h5_url = serializers.CharField()
    code_url = serializers.CharField()


class PaymentStatusOutput(serializers.Serializer):
    out_trade_no = serializers.CharField()
    status = serializers.CharField()
    order_number = serializers.CharField(source="order.number")
    order_status = serializers.CharField(source="order.status")


def is_mobile(request) -> bool:
    agent = request.META.get("HTTP_USER_AGENT", "")
    return any(mark in agent for mark in ("Mobile", "Android", "iPhone"))


class PaymentStartApi(ShopperApiMixin, APIView):
    """Start paying an order. Without `channel` it is chosen from the client: JSAPI inside
    WeChat, H5 on other phones, a Native QR code on desktops."""

    permission_classes = [IsShopper]

    @extend_schema(
        request=PaymentStartInput,
        responses={
            201: PaymentStartOutput, **shopper_errors(400, 401, 403, 404, 409),
            **error_responses({503: "payments are not set up for this mall"}),
        },
    )
    def post(self, request):
        data = PaymentStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_get_for_shopper(
            shopper=request.shopper, number=data.validated_data["order_number"]
        )
        channel = data.validated_data.get("channel") or services.channel_for_client(
            user_agent=request.META.get("HTTP_USER_AGENT", ""), is_mobile=is_mobile(request)
        )
        start = services.payment_start(
            order=order, shopper=request.shopper, channel=channel, client_ip=client_ip(request)
        )
        return Response(PaymentStartOutput(start).data, status=201)


class PaymentStatusApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]

    @extend_schema(responses={200: PaymentStatusOutput, **shopper_errors(401, 404)})
    def get(self, request, out_trade_no: str):
        payment = (
            Payment.objects.select_related("order")
            .filter(out_trade_no=out_trade_no, order__shopper=request.shopper)
            .first()
        )
        if payment is None:
            raise exceptions.NotFound()
        return Response(PaymentStatusOutput(payment).data)


def _wechat_answer(status: int, message: str = "") -> JsonResponse:
    if status < 300:
        return JsonResponse({"code": "SUCCESS", "message": "OK"}, status=200)
    return JsonResponse({"code": "FAIL", "message": message}, status=status)


def _handle(request, apply):
    try:
        data = callback_verify(request)
    except CallbackRejected as exc:
        logger.warning("wechat callback refused on %s: %s", connection.schema_name, exc.message)
        return _wechat_answer(401, exc.message)
    try:
        _, outcome = apply(resource=data["resource"], source="callback")
    except DomainError as exc:
        # Signed by WeChat, yet not ours or not what we hold: kept, and shown to staff.
        logger.warning("wechat callback not applied on %s: %s",
                       connection.schema_name, exc.message)
        notification_record(data=data, outcome=NotificationOutcome.REFUSED, reason=exc.message)
        return _wechat_answer(400, exc.message)
    notification_record(data=data, outcome=outcome)
    return _wechat_answer(200)


@csrf_exempt
@require_POST
def wechat_pay_notify(request):
    """TRANSACTION.SUCCESS callbacks (DESIGN §7). Answers 200 only when applied or known."""
    return _handle(request, services.payment_apply_transaction)


@csrf_exempt
@require_POST
def wechat_refund_notify(request):
    return _handle(request, refunds.refund_apply)


@csrf_exempt
@require_POST
def wechat_transfer_notify(request):
    """MCHTRANSFER.BILL.FINISHED: a transfer to a user's balance reached its final state."""
    return _handle(request, transfers.transfer_apply)
