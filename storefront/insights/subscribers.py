"""The rollups follow the orders (DESIGN §5 events), inside the transaction of each change.

Registered after the distribution app's subscribers (INSTALLED_APPS order, checked by
tests/insights): on `order.paid` the commissions and the attribution are already written,
on `after_sales.refunded` the reversals are."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Sum

from core import events
from storefront.distribution.models import Commission, CommissionReversal, OrderAttribution
from storefront.insights import rollups
from storefront.orders.models import Order, OrderLine


@events.subscriber("order.created")
def count_placed(event: events.DomainEvent) -> None:
    order = event.subject
    rollups.add_sales(day=rollups.business_day(order.created_at), order_id=order.pk, placed=1)


@events.subscriber("order.paid")
def count_paid(event: events.DomainEvent) -> None:
    order = event.subject
    day = rollups.business_day(order.paid_at)
    products: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for product_id, quantity, paid in OrderLine.objects.filter(order_id=order.pk).values_list(
            "product_id", "quantity", "paid_fen"):
        products[product_id][0] += quantity
        products[product_id][1] += paid
    per_distributor: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for distributor_id, amount in (Commission.objects.filter(order_id=order.pk)
                                   .values_list("distributor_id")
                                   .annotate(total=Sum("amount_fen")).order_by()):
        per_distributor[distributor_id][1] += amount
    attribution = (OrderAttribution.objects.filter(order_id=order.pk,
                                                   distributor__isnull=False)
                   .values_list("distributor_id", "goods_paid_fen").first())
    if attribution:
        per_distributor[attribution[0]][0] += attribution[1]
    first_today = rollups.add_paying_shopper(day=day, shopper_id=order.shopper_id)
    rollups.add_sales(
        day=day, order_id=order.pk, orders=1, gmv_fen=order.total_fen,
        commission_fen=sum(commission for _, commission in per_distributor.values()),
        paying_shoppers=int(first_today),
    )
    rollups.add_products(day=day, order_id=order.pk,
                         lines={pk: tuple(v) for pk, v in products.items()})
    rollups.add_distributors(day=day, figures={pk: tuple(v) for pk, v in
                                               per_distributor.items()})


@events.subscriber("after_sales.refunded")
def count_refunded(event: events.DomainEvent) -> None:
    """The refund and the commission it took back count against the order's own day."""
    case = event.subject
    paid_at = Order.objects.filter(pk=case.order_id).values_list("paid_at", flat=True).get()
    if paid_at is None:  # never counted as paid (e.g. a case forced through by staff tools)
        return
    day = rollups.business_day(paid_at)
    per_distributor: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for distributor_id, amount in (CommissionReversal.objects
                                   .filter(ledger_key=f"case:{case.pk}")
                                   .values_list("distributor_id")
                                   .annotate(total=Sum("amount_fen")).order_by()):
        per_distributor[distributor_id][1] -= amount
    attributed = (OrderAttribution.objects.filter(order_id=case.order_id,
                                                  distributor__isnull=False)
                  .values_list("distributor_id", flat=True).first())
    if attributed:
        goods_back = case.lines.aggregate(total=Sum("refund_fen"))["total"] or 0
        per_distributor[attributed][0] -= goods_back
    rollups.add_sales(
        day=day, order_id=case.order_id, refunded_fen=case.refund_fen,
        commission_fen=sum(commission for _, commission in per_distributor.values()),
    )
    rollups.add_distributors(day=day, figures={pk: tuple(v) for pk, v in
                                               per_distributor.items()})
