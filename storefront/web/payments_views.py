"""The pay page: shows the order with a pay button (GET) and starts WeChat Pay for it on the
channel that fits the device (POST). Starting a payment creates a Payment row and a WeChat
transaction, so it never happens on GET: link prefetchers, crawlers and a reload must not
start one."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from control_plane.client_ip import client_ip
from core.errors import DomainError
from storefront.api.payments import is_mobile
from storefront.orders.models import OrderStatus
from storefront.orders.selectors import order_get_for_shopper
from storefront.payments import services
from storefront.payments.models import PaymentChannel


def _qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


@require_http_methods(["GET", "POST"])
def pay(request, number: str):
    if request.shopper is None:
        return redirect(f"/login/?next=/orders/{number}/pay/")
    try:
        order = order_get_for_shopper(shopper=request.shopper, number=number)
    except DomainError:
        return render(request, "storefront/payments/pay.html", {"missing": True}, status=404)
    if order.status != OrderStatus.PENDING_PAYMENT:
        return redirect(f"/orders/{number}/")
    asked = (request.POST if request.method == "POST" else request.GET).get("channel")
    asked = asked if asked in PaymentChannel.values else ""
    if request.method == "GET":
        return render(
            request, "storefront/payments/pay.html",
            {"order": order, "channel": asked, "tab": "me"},
        )
    channel = asked or services.channel_for_client(
        user_agent=request.META.get("HTTP_USER_AGENT", ""), is_mobile=is_mobile(request)
    )
    try:
        start = services.payment_start(
            order=order, shopper=request.shopper, channel=channel, client_ip=client_ip(request)
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(f"/orders/{number}/")
    return render(
        request,
        "storefront/payments/pay.html",
        {
            "order": order,
            "start": start,
            "qr_svg": mark_safe(_qr_svg(start.code_url)) if start.code_url else "",  # noqa: S308 - generated SVG
            "tab": "me",
        },
    )
