"""Presentation of carts, orders and after-sales cases, shared by the faces: the shopper's
pages, the shopper API and the staff API.

Face code, not domain code: translatable labels, the shopper's order tabs, line flags,
which buttons to show, countdown text. Nothing here changes state (writes go through
orders.cart, orders.services and orders.after_sales) and the rules stay in the domain:
a button shown here is still refused by the service when the move is illegal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from storefront.catalog.models import Sku
from storefront.orders.after_sales import REASONS, REFUNDABLE_STATUSES
from storefront.orders.models import (
    OPEN_AFTER_SALES,
    AfterSalesRequest,
    AfterSalesStatus,
    Cart,
    CartLine,
    Order,
    OrderStatus,
)
from storefront.orders.pricing import Quote
from storefront.orders.selectors import order_list_for_shopper
from storefront.orders.services import CheckoutItem, checkout_quote
from storefront.shoppers.models import Shopper

# The shopper's order tabs: key → (label, statuses shown); "after_sales" is special.
ORDER_TABS: dict[str, tuple[str, tuple[str, ...]]] = {
    "all": (_("All"), ()),
    "pending_payment": (_("Pending payment"), (OrderStatus.PENDING_PAYMENT,)),
    "paid": (_("Paid"), (OrderStatus.PAID,)),
    "shipped": (_("Shipped"), (OrderStatus.SHIPPED,)),
    "received": (_("Received"), (OrderStatus.RECEIVED, OrderStatus.COMPLETED)),
    "after_sales": (_("After-sales"), ()),
}

# The labels of the models' choices, as translatable msgids (templates show them with
# `{% translate order.get_status_display %}`, which looks up these same msgids).
ORDER_STATUS_LABELS: dict[str, str] = {
    OrderStatus.PENDING_PAYMENT: _("Pending payment"),
    OrderStatus.PAID: _("Paid"),
    OrderStatus.SHIPPED: _("Shipped"),
    OrderStatus.RECEIVED: _("Received"),
    OrderStatus.COMPLETED: _("Completed"),
    OrderStatus.CANCELLED: _("Cancelled"),
    OrderStatus.REFUNDED: _("Refunded"),
}
AFTER_SALES_STATUS_LABELS: dict[str, str] = {
    AfterSalesStatus.REQUESTED: _("Requested"),
    AfterSalesStatus.APPROVED: _("Approved, refund in progress"),
    # For the shopper the money is still on its way: staff are on it.
    AfterSalesStatus.REFUND_FAILED: _("Approved, refund in progress"),
    AfterSalesStatus.REJECTED: _("Rejected"),
    AfterSalesStatus.REFUNDED: _("Refunded"),
    AfterSalesStatus.WITHDRAWN: _("Withdrawn"),
}

REASON_LABELS: dict[str, str] = {
    "not_as_described": _("Not as described"),
    "damaged": _("Arrived damaged"),
    "wrong_item": _("Wrong item sent"),
    "quality": _("Quality problem"),
    "no_longer_needed": _("No longer needed"),
    "other": _("Other"),
}
# In the domain's order, each with its label (a reason without one shows its code).
REASON_CHOICES: list[tuple[str, str]] = [(code, REASON_LABELS.get(code, code)) for code in REASONS]



def sku_image_url(sku: Sku) -> str:
    """The SKU's own picture, else the product cover's thumbnail (as an order line keeps)."""
    if sku.image:
        return sku.image.url
    cover = sku.product.cover
    return cover.thumbnail.url if cover and cover.thumbnail else ""


@dataclass(frozen=True)
class CartLineView:
    line: CartLine
    sku: Sku
    image_url: str
    available: bool
    stock_short: bool

    @property
    def quantity(self) -> int:
        return self.line.quantity

    @property
    def unit_price_fen(self) -> int:
        return self.sku.price_fen

    @property
    def line_total_fen(self) -> int:
        return self.sku.price_fen * self.line.quantity


@dataclass(frozen=True)
class CartView:
    lines: list[CartLineView]
    quote: Quote | None
    error: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.lines

    @property
    def available_lines(self) -> list[CartLineView]:
        return [line for line in self.lines if line.available]

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


def cart_lines(cart: Cart | None) -> list[CartLine]:
    if cart is None:
        return []
    return list(
        cart.lines.select_related("sku__product__cover").order_by("added_at", "id")
    )


def cart_view(*, cart: Cart | None, province: str | None) -> CartView:
    """The cart's lines with availability flags, and the server's quote of the lines that
    can still be bought (an off-shelf line is shown, flagged, and left out of the total)."""
    views = []
    for line in cart_lines(cart):
        sku = line.sku
        available = sku.is_active and sku.product.is_on_shelf
        views.append(
            CartLineView(
                line=line, sku=sku, image_url=sku_image_url(sku), available=available,
                stock_short=available and sku.stock < line.quantity,
            )
        )
    items = [CheckoutItem(sku_id=v.sku.pk, quantity=v.quantity) for v in views if v.available]
    if not items:
        return CartView(lines=views, quote=None)
    try:
        quote = checkout_quote(items=items, province=province)
    except DomainError as exc:  # e.g. an item went off shelf between the two reads
        return CartView(lines=views, quote=None, error=exc.message)
    return CartView(lines=views, quote=quote)


def stock_short_sku_ids(quote: Quote) -> set[int]:
    """SKUs of a quote whose stock (as read for the quote) is below the quantity asked."""
    return {line.sku.pk for line in quote.lines if line.sku.stock < line.quantity}


def order_list_for_shopper_tab(*, shopper: Shopper, tab: str) -> QuerySet[Order]:
    """The shopper's orders under one tab of the order list (unknown tab: all)."""
    queryset = order_list_for_shopper(shopper=shopper)
    if tab == "after_sales":
        return queryset.filter(
            pk__in=AfterSalesRequest.objects.values("order_id")
        )
    statuses = ORDER_TABS.get(tab, ORDER_TABS["all"])[1]
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    return queryset


@dataclass(frozen=True)
class OrderActions:
    can_cancel: bool
    can_confirm_receipt: bool
    can_request_after_sales: bool


def order_actions(order: Order, cases: list[AfterSalesRequest]) -> OrderActions:
    """Which buttons the shopper gets; the services still decide (and refuse with a 409)."""
    has_open_case = any(case.status in OPEN_AFTER_SALES for case in cases)
    anything_left = any(line.quantity > line.refunded_quantity for line in order.lines.all())
    return OrderActions(
        can_cancel=order.status == OrderStatus.PENDING_PAYMENT,
        can_confirm_receipt=order.status == OrderStatus.SHIPPED,
        can_request_after_sales=(
            order.status in REFUNDABLE_STATUSES and not has_open_case and anything_left
        ),
    )


def pay_seconds_left(order: Order, *, now: dt.datetime | None = None) -> int:
    if order.status != OrderStatus.PENDING_PAYMENT:
        return 0
    now = now or timezone.now()
    return max(0, int((order.pay_deadline - now).total_seconds()))


def countdown_text(seconds: int) -> str:
    """1799 -> "29:59" (minutes may exceed 59 for long payment windows)."""
    seconds = max(0, seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"
