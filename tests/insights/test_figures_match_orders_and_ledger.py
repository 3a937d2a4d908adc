"""Every dashboard figure equals what the orders and the ledger say: orders are placed
(order_place), paid (payment_apply_transaction, as WeChat's callback), one is partly
refunded (after-sales case, refund_apply), commissions accrue and are reversed through the
distribution engine; the figures are then computed a second way, straight from the
orders, lines, commissions and journal legs, and compared one by one."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
import time_machine
from django.db.models import Sum
from django.utils import timezone

from merchant_console.dashboard_data import funnel_payload, sales_payload
from storefront.distribution.models import Commission, OrderAttribution
from storefront.insights import rollups
from storefront.insights.models import DistributorDay, ProductDay, SalesDay, ShopperDay
from storefront.insights.rollups import SHANGHAI, business_day
from storefront.insights.selectors import period_parse
from storefront.ledger.models import JournalLeg
from storefront.orders.models import Order, OrderLine
from tests.insights.conftest import pay, place, refund


def _window(period):
    start = dt.datetime.combine(period.first, dt.time(), SHANGHAI)
    end = dt.datetime.combine(period.last + dt.timedelta(days=1), dt.time(), SHANGHAI)
    return start, end


def _ledger(order_ids, code: str) -> int:
    return JournalLeg.objects.filter(entry__order_id__in=order_ids, account__code=code
                                     ).aggregate(t=Sum("amount_fen"))["t"] or 0


def from_source(period) -> dict:
    """The dashboard's figures, recomputed from the orders and the ledger."""
    start, end = _window(period)
    paid = Order.objects.filter(paid_at__gte=start, paid_at__lt=end)
    ids = list(paid.values_list("pk", flat=True))
    gmv = paid.aggregate(t=Sum("total_fen"))["t"] or 0
    refunded = paid.aggregate(t=Sum("refunded_fen"))["t"] or 0
    # The ledger says the same: revenue credited, refunds debited, commission expensed.
    assert -_ledger(ids, "sales_revenue") == gmv
    assert _ledger(ids, "refunds") == refunded
    commission = _ledger(ids, "commission_expense")
    assert commission == sum(c.amount_fen - c.reversed_fen
                             for c in Commission.objects.filter(order_id__in=ids))
    orders = len(ids)
    goods = defaultdict(lambda: [0, 0])
    for line in OrderLine.objects.filter(order_id__in=ids):
        goods[line.product_id][0] += line.quantity
        goods[line.product_id][1] += line.paid_fen
    distributors = defaultdict(lambda: [0, 0])
    for attribution in OrderAttribution.objects.filter(order_id__in=ids,
                                                       distributor__isnull=False):
        for line in OrderLine.objects.filter(order_id=attribution.order_id):
            distributors[attribution.distributor_id][0] += line.paid_fen - line.refunded_fen
    for c in Commission.objects.filter(order_id__in=ids):
        distributors[c.distributor_id][1] += c.amount_fen - c.reversed_fen
    return {
        "summary": {
            "gmv_fen": gmv, "orders": orders,
            "paying_shoppers": paid.values("shopper_id").distinct().count(),
            "average_order_fen": (2 * gmv + orders) // (2 * orders) if orders else 0,
            "commission_fen": commission, "refunded_fen": refunded,
            "refund_rate_bp": (20_000 * refunded + gmv) // (2 * gmv) if gmv else 0,
        },
        "goods": {pk: tuple(v) for pk, v in goods.items()},
        "distributors": {pk: tuple(v) for pk, v in distributors.items() if any(v)},
        "placed": Order.objects.filter(created_at__gte=start, created_at__lt=end).count(),
    }


def assert_dashboard_matches(period) -> dict:
    expected = from_source(period)
    shown = sales_payload(period=period)
    assert shown["summary"] == expected["summary"]
    assert sum(d["gmv_fen"] for d in shown["daily"]) == expected["summary"]["gmv_fen"]
    assert sum(d["orders"] for d in shown["daily"]) == expected["summary"]["orders"]
    assert {g["product_id"]: (g["units"], g["paid_fen"]) for g in shown["top_goods"]} == \
        expected["goods"]
    assert {d["distributor_id"]: (d["sales_fen"], d["commission_fen"])
            for d in shown["top_distributors"]} == expected["distributors"]
    funnel = funnel_payload(period=period)
    assert funnel["totals"]["orders"] == expected["placed"]
    assert funnel["totals"]["payments"] == expected["summary"]["orders"]
    return shown


def _rollup_rows():
    """The rollups per day (and product, distributor), whichever stripe holds them."""
    return (
        sorted(SalesDay.objects.values_list("day").annotate(
            Sum("placed"), Sum("orders"), Sum("gmv_fen"), Sum("refunded_fen"),
            Sum("commission_fen"), Sum("paying_shoppers")).order_by()),
        sorted(ShopperDay.objects.values_list("day", "shopper_id")),
        sorted(ProductDay.objects.values_list("day", "product_id").annotate(
            Sum("units"), Sum("paid_fen")).order_by()),
        sorted(DistributorDay.objects.exclude(sales_fen=0, commission_fen=0)
               .values_list("day", "distributor_id", "sales_fen", "commission_fen")),
    )


@pytest.fixture
def sales(selling_mall):
    m = selling_mall
    # Yesterday (Asia/Shanghai): the buyer pays one order through the bottom distributor.
    yesterday_noon = dt.datetime.combine(business_day(timezone.now()) - dt.timedelta(days=1),
                                         dt.time(12), SHANGHAI)
    with time_machine.travel(yesterday_noon, tick=True):
        pay(place(m["buyer"], (m["tea"], 1), referrer=m["bottom"]))
    # Today: two orders of the buyer (bound to the bottom distributor), one of another
    # shopper bound to nobody, one left unpaid.
    first = pay(place(m["buyer"], (m["mug"], 2), (m["tea"], 1), referrer=m["bottom"]))
    pay(place(m["buyer"], (m["mug"], 1)))
    pay(place(m["other"], (m["tea"], 3)))
    place(m["other"], (m["mug"], 1))
    refund(first, quantity=1)  # one mug back: revenue, refund and commission move
    return m


def test_every_figure_equals_the_orders_and_the_ledger(sales):
    today = assert_dashboard_matches(period_parse("today"))
    week = assert_dashboard_matches(period_parse("7d"))
    assert_dashboard_matches(period_parse("30d"))
    # The figures are not trivially zero, and the refund and commission really moved.
    assert today["summary"]["orders"] == 3 and week["summary"]["orders"] == 4
    assert today["summary"]["paying_shoppers"] == 2 and week["summary"]["paying_shoppers"] == 2
    assert today["summary"]["refunded_fen"] == 9900
    assert 0 < today["summary"]["commission_fen"] < week["summary"]["commission_fen"]
    assert today["summary"]["refund_rate_bp"] > 0
    assert today["top_goods"][0]["units"] == 4  # tea: 1 + 3 today


def test_a_rebuild_from_the_orders_gives_the_rows_the_subscribers_kept(sales):
    kept = _rollup_rows()
    rollups.rollups_rebuild()
    assert _rollup_rows() == kept
    assert_dashboard_matches(period_parse("7d"))


def test_the_rollups_subscribe_after_the_distribution_engine():
    """On order.paid the commissions must exist, on after_sales.refunded the reversals."""
    from core import events

    for name, theirs, ours in (("order.paid", "accrue_commissions", "count_paid"),
                               ("after_sales.refunded", "reverse_commissions",
                                "count_refunded")):
        handlers = [h.__name__ for h in events.subscribers_of(name)[0]]
        assert handlers.index(theirs) < handlers.index(ours)
