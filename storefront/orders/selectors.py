"""Reads over orders. `order_get_for_shopper` answers the same 404 for a missing order and
for another shopper's."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from storefront.orders.errors import AfterSalesNotFound, OrderNotFound
from storefront.orders.models import (
    AfterSalesEvent,
    AfterSalesRequest,
    Order,
    OrderLine,
    OrderSettings,
    OrderStatus,
)
from storefront.shoppers.models import Shopper


def _with_lines(queryset: QuerySet[Order]) -> QuerySet[Order]:
    return queryset.prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("id")))


def order_list_for_shopper(*, shopper: Shopper, status: str | None = None) -> QuerySet[Order]:
    queryset = Order.objects.filter(shopper=shopper)
    if status:
        queryset = queryset.filter(status=status)
    return _with_lines(queryset)


def order_get_for_shopper(*, shopper: Shopper, number: str) -> Order:
    order = _with_lines(Order.objects.filter(shopper=shopper, number=number)).first()
    if order is None:
        raise OrderNotFound()
    return order


def order_list(*, status: str | None = None, q: str | None = None) -> QuerySet[Order]:
    queryset = Order.objects.select_related("shopper", "referrer")
    if status:
        queryset = queryset.filter(status=status)
    if q:
        queryset = queryset.filter(number__startswith=q.strip())
    return _with_lines(queryset)


def order_get(*, number: str) -> Order:
    order = (
        _with_lines(Order.objects.select_related("shopper", "referrer"))
        .prefetch_related("status_changes", "after_sales__lines", "after_sales__photos")
        .filter(number=number)
        .first()
    )
    if order is None:
        raise OrderNotFound()
    return order


def after_sales_list(*, status: str | None = None) -> QuerySet[AfterSalesRequest]:
    queryset = AfterSalesRequest.objects.select_related("order").prefetch_related(
        "lines__order_line", "photos"
    )
    return queryset.filter(status=status) if status else queryset


def order_ids_overdue_for_payment(*, limit: int) -> list[int]:
    return list(
        Order.objects.filter(status=OrderStatus.PENDING_PAYMENT, pay_deadline__lte=timezone.now())
        .order_by("pay_deadline")
        .values_list("pk", flat=True)[:limit]
    )


def order_ids_due_for_receipt(*, limit: int) -> list[int]:
    cutoff = timezone.now() - dt.timedelta(days=OrderSettings.current().auto_receive_days)
    return list(
        Order.objects.filter(status=OrderStatus.SHIPPED, shipped_at__lte=cutoff)
        .order_by("shipped_at")
        .values_list("pk", flat=True)[:limit]
    )


def order_ids_due_for_completion(*, limit: int) -> list[int]:
    cutoff = timezone.now() - dt.timedelta(days=OrderSettings.current().after_sales_days)
    return list(
        Order.objects.filter(status=OrderStatus.RECEIVED, received_at__lte=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )


def after_sales_get_for_shopper(*, shopper: Shopper, request_id: object) -> AfterSalesRequest:
    """The shopper's own case, or AfterSalesNotFound (404) for a missing case and for
    another shopper's alike."""
    try:
        pk = int(request_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise AfterSalesNotFound() from None
    if not 0 < pk < 2**63:
        raise AfterSalesNotFound()
    case = (
        AfterSalesRequest.objects.select_related("order")
        .filter(pk=pk, order__shopper=shopper)
        .first()
    )
    if case is None:
        raise AfterSalesNotFound()
    return case


def after_sales_list_for_order(*, order: Order) -> list[AfterSalesRequest]:
    """The order's cases, newest first, with their lines and photos."""
    return list(
        order.after_sales.prefetch_related("lines__order_line", "photos").order_by(
            "-created_at", "-id"
        )
    )


def after_sales_get(*, request_id: int) -> AfterSalesRequest:
    """A case of this mall for staff, or AfterSalesNotFound (404)."""
    case = (
        AfterSalesRequest.objects.select_related("order")
        .prefetch_related("lines__order_line", "photos")
        .filter(pk=request_id)
        .first()
    )
    if case is None:
        raise AfterSalesNotFound()
    return case


def after_sales_refund_failures(*, case_ids: list[int]) -> dict[int, str]:
    """{case id: why its last refund failed} for the cases given that are back with staff."""
    reasons: dict[int, str] = {}
    for case_id, reason in (
        AfterSalesEvent.objects.filter(case_id__in=case_ids, to_status="refund_failed")
        .order_by("created_at", "id").values_list("case_id", "reason")
    ):
        reasons[case_id] = reason  # the latest wins
    return reasons
