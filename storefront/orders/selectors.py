"""Reads over orders. `order_get_for_shopper` answers the same 404 for a missing order and
for another shopper's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from storefront.orders.errors import AfterSalesNotFound, OrderNotFound
from storefront.orders.models import (
    AfterSalesEvent,
    AfterSalesRequest,
    AfterSalesStatus,
    DiscountRule,
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


# Business days are Shanghai days (DESIGN §5), whatever the server's zone.
SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai_day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class OrderFilters:
    """What staff narrow the order list by (the status apart: it is also the tabs).

    `q`: the start of an order number, the start of the shopper's or the recipient's
    phone, part of the shopper's nickname or the recipient's name, or a tracking number.
    `date_from` / `date_to`: placed on these Shanghai days, both included."""

    q: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    shopper_id: int | None = None


def order_search(*, filters: OrderFilters) -> QuerySet[Order]:
    """Orders matching `filters`, newest first, every status."""
    orders = Order.objects.all()
    q = (filters.q or "").strip()
    if q:
        match = (Q(number__startswith=q) | Q(tracking_number=q)
                 | Q(shopper__phone__startswith=q) | Q(shopper__nickname__icontains=q)
                 | Q(address__phone__startswith=q) | Q(address__recipient__icontains=q))
        orders = orders.filter(match)
    if filters.date_from:
        orders = orders.filter(created_at__gte=shanghai_day_start(filters.date_from))
    if filters.date_to:
        orders = orders.filter(
            created_at__lt=shanghai_day_start(filters.date_to + dt.timedelta(days=1)))
    if filters.shopper_id is not None:
        orders = orders.filter(shopper_id=filters.shopper_id)
    return orders.order_by("-created_at", "-id")


def order_status_counts(*, orders: QuerySet[Order]) -> dict[str, int]:
    """{status: count} over `orders` (one grouped query), every status present."""
    counts = dict.fromkeys(OrderStatus.values, 0)
    for status, count in (orders.order_by().values_list("status")
                          .annotate(count=Count("id")).values_list("status", "count")):
        counts[status] = count
    return counts


def order_list_page(*, orders: QuerySet[Order]) -> QuerySet[Order]:
    """What a list shows of each order: shopper, referrer and lines, in a fixed number of
    queries whatever the page's length."""
    return _with_lines(orders.select_related("shopper", "referrer"))


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


@dataclass(frozen=True)
class AfterSalesFilters:
    """`q`: the start of the order number or of the shopper's phone; `reason`: a reason
    code; dates: asked on these Shanghai days, both included."""

    q: str = ""
    reason: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def after_sales_search(*, filters: AfterSalesFilters) -> QuerySet[AfterSalesRequest]:
    """Cases matching `filters`, every status, newest first."""
    cases = AfterSalesRequest.objects.all()
    q = (filters.q or "").strip()
    if q:
        cases = cases.filter(Q(order__number__startswith=q)
                             | Q(order__shopper__phone__startswith=q))
    if filters.reason:
        cases = cases.filter(reason=filters.reason)
    if filters.date_from:
        cases = cases.filter(created_at__gte=shanghai_day_start(filters.date_from))
    if filters.date_to:
        cases = cases.filter(
            created_at__lt=shanghai_day_start(filters.date_to + dt.timedelta(days=1)))
    return cases.order_by("-created_at", "-id")


def after_sales_status_counts(*, cases: QuerySet[AfterSalesRequest]) -> dict[str, int]:
    counts = dict.fromkeys(AfterSalesStatus.values, 0)
    for status, count in (cases.order_by().values_list("status")
                          .annotate(count=Count("id")).values_list("status", "count")):
        counts[status] = count
    return counts


def after_sales_list_page(*, cases: QuerySet[AfterSalesRequest]) -> QuerySet[AfterSalesRequest]:
    return cases.select_related("order", "order__shopper").prefetch_related(
        "lines__order_line", "photos")


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
    """A case of this mall for staff, or AfterSalesNotFound (404), also for an id no
    bigint can hold (a URL's <int:> takes any length)."""
    if not 0 < request_id < 2**63:
        raise AfterSalesNotFound()
    case = (
        AfterSalesRequest.objects.select_related("order", "order__shopper", "decided_by")
        .prefetch_related("lines__order_line", "photos", "events")
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


def after_sales_events_for_order(*, order_id: int) -> list[AfterSalesEvent]:
    """The history of every after-sales case of an order, oldest first."""
    return list(AfterSalesEvent.objects.filter(case__order_id=order_id)
                .order_by("created_at", "id"))


def discount_rules_active() -> list[DiscountRule]:
    """The mall's active 满减 rules, lowest threshold first, for the promotion tags on
    catalogue pages: one query per page, whatever number of products it shows."""
    return list(
        DiscountRule.objects.filter(is_active=True).order_by("threshold_fen", "amount_off_fen")
    )
