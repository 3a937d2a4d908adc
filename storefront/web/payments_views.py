"""The pay page: shows the order with a pay button (GET) and starts WeChat Pay for it on the
channel that fits the device (POST). Starting a payment creates a Payment row and a WeChat
transaction, so it never happens on GET: link prefetchers, crawlers and a reload must not
start one."""

from __future__ import annotations

import time

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods

from control_plane.client_ip import client_ip
from core.errors import DomainError
from storefront.api.payments import is_mobile
from storefront.orders.models import OrderStatus
from storefront.orders.selectors import order_get_for_shopper
from storefront.payments import services
from storefront.payments.models import PaymentChannel
from storefront.payments.selectors import PAYMENT_STATE_PENDING, order_payment_state

# After WeChat's H5 cashier sends the shopper back, the order page asks every 1.5 s whether
# the callback has arrived, for at most this long; then it says to refresh or contact us.
CONFIRM_POLL_SECONDS = 30


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
    h5_url = ""
    if start.h5_url:
        return_url = request.build_absolute_uri(
            reverse("storefront:order-detail", kwargs={"number": order.number})
        ) + "?from=cashier"
        h5_url = services.h5_url_with_return(h5_url=start.h5_url, return_url=return_url)
    return render(
        request,
        "storefront/payments/pay.html",
        {
            "order": order,
            "start": start,
            "h5_url": h5_url,
            "qr_svg": mark_safe(_qr_svg(start.code_url)) if start.code_url else "",  # noqa: S308 - generated SVG
            "tab": "me",
        },
    )


def payment_state_context(*, order, started: float) -> dict:
    """What the "confirming payment" box shows: the state the callback or query recorded,
    and, while still pending, whether to poll again (for CONFIRM_POLL_SECONDS after the
    return from the cashier) or to say that it is taking long."""
    state = order_payment_state(order=order)
    waited = max(0.0, time.time() - started)
    still_polling = state == PAYMENT_STATE_PENDING and waited < CONFIRM_POLL_SECONDS
    return {
        "order": order,
        "payment_state": state,
        "timed_out": state == PAYMENT_STATE_PENDING and not still_polling,
        "poll_url": (
            reverse("storefront:order-payment-state", kwargs={"number": order.number})
            + "?" + urlencode({"t0": int(started)})
        ) if still_polling else "",
    }


def _started(value: object) -> float:
    """The poll's start (epoch seconds) from the query; missing, bad or in the future: now."""
    now = time.time()
    try:
        started = float(value)
    except (TypeError, ValueError):
        return now
    return started if 0 < started <= now else now


@require_GET
def payment_state(request, number: str):
    """The light endpoint the order page polls after the H5 cashier: one order read and at
    most one payment read, a small fragment back."""
    if request.shopper is None:
        raise Http404()
    try:
        order = order_get_for_shopper(shopper=request.shopper, number=number)
    except DomainError:
        raise Http404() from None
    context = payment_state_context(order=order, started=_started(request.GET.get("t0")))
    response = render(request, "storefront/orders/_payment_state.html", context)
    if context["payment_state"] != PAYMENT_STATE_PENDING and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"  # the whole order page (status, actions) is stale
    return response
