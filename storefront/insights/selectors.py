"""What the dashboards read: the rollups of a period (today, 7 or 30 Asia/Shanghai days,
ending today), the funnel, and the recruitment tree for the network graph. Every reader
is a fixed number of queries, whatever the number of orders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Sum
from django.utils import timezone

from storefront.catalog.models import Product
from storefront.distribution.models import Distributor
from storefront.insights.errors import InsightsInvalid
from storefront.insights.models import DistributorDay, FunnelDay, ProductDay, SalesDay, ShopperDay
from storefront.insights.rollups import business_day

PERIODS = {"today": 1, "7d": 7, "30d": 30}
TOP_SORTS = {"goods": ("units", "paid_fen"), "distributors": ("sales_fen", "commission_fen")}
NETWORK_MAX_NODES = 500
NETWORK_DEFAULT_NODES = 150


@dataclass(frozen=True)
class Period:
    key: str
    first: dt.date
    last: dt.date

    @property
    def days(self) -> list[dt.date]:
        count = (self.last - self.first).days + 1
        return [self.first + dt.timedelta(days=n) for n in range(count)]


def period_parse(value: str | None, *, today: dt.date | None = None) -> Period:
    """'today', '7d' or '30d' (None: today) ending today, Asia/Shanghai."""
    key = "today" if value in (None, "") else value
    if key not in PERIODS:
        raise InsightsInvalid(
            f"Unknown period {str(value)[:20]!r}: choose today, 7d or 30d.",
            fields={"period": ["Choose today, 7d or 30d."]},
        )
    last = today or business_day(timezone.now())
    return Period(key=key, first=last - dt.timedelta(days=PERIODS[key] - 1), last=last)


@dataclass(frozen=True)
class SalesFigures:
    gmv_fen: int
    orders: int
    paying_shoppers: int
    commission_fen: int
    refunded_fen: int

    @property
    def average_order_fen(self) -> int:
        """GMV per paid order, rounded half up to the fen (0 without orders)."""
        return (2 * self.gmv_fen + self.orders) // (2 * self.orders) if self.orders else 0

    @property
    def refund_rate_bp(self) -> int:
        """Refunded fen per GMV in basis points, rounded half up."""
        if not self.gmv_fen:
            return 0
        return (20_000 * self.refunded_fen + self.gmv_fen) // (2 * self.gmv_fen)

    def as_dict(self) -> dict:
        return {"gmv_fen": self.gmv_fen, "orders": self.orders,
                "paying_shoppers": self.paying_shoppers,
                "average_order_fen": self.average_order_fen,
                "commission_fen": self.commission_fen, "refunded_fen": self.refunded_fen,
                "refund_rate_bp": self.refund_rate_bp}


@dataclass(frozen=True)
class SalesDayFigures:
    day: dt.date
    placed: int
    orders: int
    gmv_fen: int
    refunded_fen: int
    commission_fen: int
    paying_shoppers: int


def sales_daily(*, period: Period) -> list[SalesDayFigures]:
    """One row per day of the period (zeros for a day without sales): one query."""
    rows = {
        row["day"]: row for row in
        SalesDay.objects.filter(day__gte=period.first, day__lte=period.last)
        .values("day").annotate(
            placed=Sum("placed"), orders=Sum("orders"), gmv_fen=Sum("gmv_fen"),
            refunded_fen=Sum("refunded_fen"), commission_fen=Sum("commission_fen"),
            paying_shoppers=Sum("paying_shoppers"),
        ).order_by("day")
    }
    empty = {"placed": 0, "orders": 0, "gmv_fen": 0, "refunded_fen": 0, "commission_fen": 0,
             "paying_shoppers": 0}
    return [
        SalesDayFigures(day=day, **{name: int((rows.get(day) or empty)[name])
                                    for name in empty})
        for day in period.days
    ]


def sales_summary(*, period: Period, daily: list[SalesDayFigures] | None = None
                  ) -> SalesFigures:
    """The period's figures: sums of its days, and its distinct paying shoppers (a shopper
    paying on two days counts once). Two queries (one when `daily` is given)."""
    daily = sales_daily(period=period) if daily is None else daily
    shoppers = (ShopperDay.objects.filter(day__gte=period.first, day__lte=period.last)
                .aggregate(n=Count("shopper_id", distinct=True))["n"])
    return SalesFigures(
        gmv_fen=sum(d.gmv_fen for d in daily), orders=sum(d.orders for d in daily),
        paying_shoppers=shoppers or 0,
        commission_fen=sum(d.commission_fen for d in daily),
        refunded_fen=sum(d.refunded_fen for d in daily),
    )


@dataclass(frozen=True)
class TopGood:
    product_id: int
    title: str
    units: int
    paid_fen: int


def top_goods(*, period: Period, limit: int = 10) -> list[TopGood]:
    """The period's best sellers by units paid, then amount: two queries."""
    rows = list(
        ProductDay.objects.filter(day__gte=period.first, day__lte=period.last)
        .values("product_id").annotate(units=Sum("units"), paid_fen=Sum("paid_fen"))
        .order_by("-units", "-paid_fen", "product_id")[:limit]
    )
    titles = dict(Product.objects.filter(pk__in=[r["product_id"] for r in rows])
                  .values_list("pk", "title"))
    return [TopGood(product_id=r["product_id"], title=titles.get(r["product_id"], ""),
                    units=r["units"], paid_fen=r["paid_fen"]) for r in rows]


@dataclass(frozen=True)
class TopDistributor:
    distributor_id: int
    name: str
    invite_code: str
    sales_fen: int
    commission_fen: int


def _distributor_name(distributor: Distributor) -> str:
    return distributor.shopper.display_name


def top_distributors(*, period: Period, by: str = "sales", limit: int = 10
                     ) -> list[TopDistributor]:
    """The period's distributors with the most attributed sales (`by="sales"`) or the most
    commission (`by="commission"`), both net of refunds: two queries."""
    if by not in ("sales", "commission"):
        raise InsightsInvalid("Rank distributors by sales or commission.",
                              fields={"by": ["Choose sales or commission."]})
    first, second = ("sales_fen", "commission_fen") if by == "sales" else (
        "commission_fen", "sales_fen")
    rows = list(
        DistributorDay.objects.filter(day__gte=period.first, day__lte=period.last)
        .values("distributor_id")
        .annotate(sales_fen=Sum("sales_fen"), commission_fen=Sum("commission_fen"))
        .order_by(f"-{first}", f"-{second}", "distributor_id")[:limit]
    )
    found = Distributor.objects.select_related("shopper").in_bulk(
        [r["distributor_id"] for r in rows])
    return [
        TopDistributor(
            distributor_id=r["distributor_id"],
            name=_distributor_name(found[r["distributor_id"]])
            if r["distributor_id"] in found else "",
            invite_code=found[r["distributor_id"]].invite_code
            if r["distributor_id"] in found else "",
            sales_fen=r["sales_fen"], commission_fen=r["commission_fen"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class FunnelDayFigures:
    day: dt.date
    visits: int
    visitors: int
    product_views: int
    cart_adds: int
    orders: int  # placed
    payments: int  # orders paid


FUNNEL_STAGES = ("visits", "product_views", "cart_adds", "orders", "payments")


def funnel_daily(*, period: Period, daily: list[SalesDayFigures] | None = None
                 ) -> list[FunnelDayFigures]:
    """Per day: the storefront's counts (flushed from Redis every minute) and the orders
    placed and paid (from the orders' rollups). Two queries (one with `daily`)."""
    daily = sales_daily(period=period) if daily is None else daily
    counts = {row.day: row for row in
              FunnelDay.objects.filter(day__gte=period.first, day__lte=period.last)}
    result = []
    for sales in daily:
        row = counts.get(sales.day)
        result.append(FunnelDayFigures(
            day=sales.day, visits=row.visits if row else 0,
            visitors=row.visitors if row else 0,
            product_views=row.product_views if row else 0,
            cart_adds=row.cart_adds if row else 0, orders=sales.placed,
            payments=sales.orders,
        ))
    return result


# --- The distribution network -------------------------------------------------------------


@dataclass(frozen=True)
class NetworkNode:
    id: int
    name: str
    invite_code: str
    level: str
    depth: int
    status: str
    sales_fen: int
    recruits: int  # direct recruits, whether shown or not
    recruiter_id: int | None


@dataclass(frozen=True)
class Network:
    root_id: int | None
    nodes: list[NetworkNode]
    truncated: bool  # more distributors below than the limit let through


def _limit(value, *, default: int, most: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= most:
        raise InsightsInvalid(f"The limit is a whole number from 1 to {most}.",
                              fields={"limit": [f"From 1 to {most}."]})
    return number


def _root_id(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise InsightsInvalid("The root is a distributor's id.",
                              fields={"root": ["A distributor's id."]})
    return number


def network(*, root=None, limit=None) -> Network:
    """The top two levels of the recruitment tree (no root), or a distributor and the two
    levels below them: at most `limit` nodes, the biggest sellers first at each depth, each
    with its count of direct recruits (so the graph can offer to drill further). Three
    queries: the root, the nodes (a range scan of the path index), the recruit counts."""
    root_id, limit = _root_id(root), _limit(limit, default=NETWORK_DEFAULT_NODES,
                                            most=NETWORK_MAX_NODES)
    rows = Distributor.objects.select_related("shopper", "level").order_by(
        "depth", "-sales_fen", "id")
    if root_id is None:
        candidates = list(rows.filter(depth__lte=1)[:limit + 1])
    else:
        top = Distributor.objects.filter(pk=root_id).values_list("path", "depth").first()
        if top is None:
            raise InsightsInvalid("No such distributor.", fields={"root": ["Unknown."]})
        path, depth = top
        candidates = list(rows.filter(path__startswith=path, depth__lte=depth + 2)
                          [:limit + 1])
    truncated = len(candidates) > limit
    shown, kept = set(), []
    for distributor in candidates[:limit]:
        # A node whose recruiter was cut by the limit is left out: the graph stays a tree.
        if (distributor.pk == root_id or distributor.recruiter_id is None
                or distributor.recruiter_id in shown):
            shown.add(distributor.pk)
            kept.append(distributor)
    recruits = dict(Distributor.objects.filter(recruiter_id__in=shown)
                    .values_list("recruiter_id").annotate(n=Count("id")).order_by())
    return Network(
        root_id=root_id, truncated=truncated or len(kept) < len(candidates[:limit]),
        nodes=[NetworkNode(
            id=d.pk, name=_distributor_name(d), invite_code=d.invite_code,
            level=d.level.name if d.level else "", depth=d.depth, status=d.status,
            sales_fen=d.sales_fen, recruits=recruits.get(d.pk, 0),
            recruiter_id=d.recruiter_id if d.pk != root_id else None,
        ) for d in kept],
    )
