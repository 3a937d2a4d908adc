"""The dashboards' figures as JSON-ready dicts, shared by the console's JSON endpoints and the
staff API (one shape for both). Money is integer fen, rates basis points."""

from __future__ import annotations

from storefront.insights import selectors
from storefront.insights.selectors import Period


def _day(value) -> str:
    return value.isoformat()


def sales_payload(*, period: Period, by: str = "sales") -> dict:
    daily = selectors.sales_daily(period=period)
    summary = selectors.sales_summary(period=period, daily=daily)
    return {
        "period": {"key": period.key, "first": _day(period.first), "last": _day(period.last)},
        "summary": summary.as_dict(),
        "daily": [{"day": _day(d.day), "gmv_fen": d.gmv_fen, "orders": d.orders,
                   "paying_shoppers": d.paying_shoppers, "refunded_fen": d.refunded_fen,
                   "commission_fen": d.commission_fen} for d in daily],
        "top_goods": [{"product_id": g.product_id, "title": g.title, "units": g.units,
                       "paid_fen": g.paid_fen} for g in selectors.top_goods(period=period)],
        "top_distributors": [
            {"distributor_id": d.distributor_id, "name": d.name, "invite_code": d.invite_code,
             "sales_fen": d.sales_fen, "commission_fen": d.commission_fen}
            for d in selectors.top_distributors(period=period, by=by)
        ],
    }


def funnel_payload(*, period: Period) -> dict:
    days = selectors.funnel_daily(period=period)
    totals = {stage: sum(getattr(d, stage) for d in days) for stage in selectors.FUNNEL_STAGES}
    return {
        "period": {"key": period.key, "first": _day(period.first), "last": _day(period.last)},
        "stages": list(selectors.FUNNEL_STAGES),
        "totals": totals,
        "daily": [{"day": _day(d.day), "visits": d.visits, "visitors": d.visitors,
                   "product_views": d.product_views, "cart_adds": d.cart_adds,
                   "orders": d.orders, "payments": d.payments} for d in days],
    }


def network_payload(*, root=None, limit=None) -> dict:
    graph = selectors.network(root=root, limit=limit)
    return {
        "root": graph.root_id,
        "truncated": graph.truncated,
        "nodes": [{"id": n.id, "name": n.name, "invite_code": n.invite_code, "level": n.level,
                   "depth": n.depth, "status": n.status, "sales_fen": n.sales_fen,
                   "recruits": n.recruits} for n in graph.nodes],
        "links": [{"source": n.recruiter_id, "target": n.id} for n in graph.nodes
                  if n.recruiter_id is not None],
    }
