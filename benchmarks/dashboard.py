"""The console home's sales dashboard in a mall with 1,000,000 orders.

Sets up its own embedded PostgreSQL and Redis under .data/bench-dashboard (wiped first), one
mall with `--orders` orders (1,000,000) spread over the last 365 Asia/Shanghai days (the
newest today) from 100,000 shoppers, 95% of them paid, one in fifty of those refunded in
full, a third bought through one of 2,000 distributors (10% tier 1, 5% tier 2, reversed on
refund), each with the ledger entries the services post (payment, refund, commission,
commission_reversal) — all set-based in SQL. The dashboard rollups are then built the way a
mall that sold before the dashboards existed gets them (`rollups_rebuild`, timed), and
`--live` more orders are placed and paid through the real services (order_place, the
payment callback's `payment_apply_transaction`) so the in-transaction rollups are exercised
on top of the rebuilt ones.

Then gunicorn (as `make run` runs it) serves the console home to the signed-in owner:
`--samples` sequential GETs of /console/?period=… rotating today / 7d / 30d, after a warm-up.
`matches_ledger`: for each period, the figures of /console/dashboard/sales.json equal those
computed straight from orders_order and the ledger's legs of those orders.

Target (issue 10): p99 ≤ 300 ms with 1,000,000 orders.

Usage: .venv/bin/python benchmarks/dashboard.py [--orders 1000000] [--samples 300] [--live 20]
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import time

from _common import free_port, percentile, start_gunicorn, stop_gunicorn, stop_services
from checkout_contention import PROJECT_DIR, _boot

BENCH_DATA = PROJECT_DIR / ".data" / "bench-dashboard"
SHOPPERS = 100_000
DISTRIBUTORS = 2_000  # shoppers 1..2000; odd ids at the top, each even one recruited by id-1
PRODUCTS = 50
DAYS = 365
PERIODS = ("today", "7d", "30d")


def _build(orders: int, sku_ids: list[int], product_ids: list[int]) -> None:
    from django.db import connection, transaction

    now = dt.datetime.now(dt.UTC)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO shoppers_shopper (id, phone, wechat_openid, wechat_unionid, nickname,
                avatar_url, share_code, is_active, created_at)
            SELECT g, NULL, 'o-bench-' || g, '', 'shopper' || g, '', 's' || g, true, now()
            FROM generate_series(1, %(n)s) g
        """, {"n": SHOPPERS})
        cursor.execute("""
            INSERT INTO distribution_distributor (id, shopper_id, status, invite_code,
                recruiter_id, path, depth, joined_via, application_note, sales_fen,
                created_at, activated_at)
            SELECT g, g, 'active', 'B' || to_hex(g),
                   CASE WHEN g %% 2 = 0 THEN g - 1 END,
                   CASE WHEN g %% 2 = 0 THEN '/' || (g - 1) || '/' || g || '/'
                        ELSE '/' || g || '/' END,
                   CASE WHEN g %% 2 = 0 THEN 1 ELSE 0 END, 'request', '', 0, now(), now()
            FROM generate_series(1, %(n)s) g
        """, {"n": DISTRIBUTORS})
        # Order g: placed (and paid a minute later) (orders - g) / orders of a year ago.
        cursor.execute("""
            INSERT INTO orders_order (id, number, shopper_id, status, goods_fen,
                discount_fen, shipping_fen, total_fen, refunded_fen, address, note,
                created_at, pay_deadline, paid_at, cancelled_at,
                carrier, tracking_number, cancel_reason)
            SELECT g, 'D' || lpad(g::text, 14, '0'), 1 + (g * 7) %% %(shoppers)s,
                   CASE WHEN g %% 20 = 0 THEN 'cancelled'
                        WHEN g %% 50 = 1 THEN 'refunded' ELSE 'completed' END,
                   t, 0, 0, t, CASE WHEN g %% 50 = 1 AND g %% 20 <> 0 THEN t ELSE 0 END,
                   '{}'::jsonb, '', at, at + interval '30 minutes',
                   CASE WHEN g %% 20 <> 0 THEN at + interval '1 minute' END,
                   CASE WHEN g %% 20 = 0 THEN at + interval '30 minutes' END, '', '', ''
            FROM (SELECT g, 1000 + (g::bigint * 7919) %% 20000 AS t,
                         %(now)s - interval '1 day' * %(days)s * (%(n)s - g) / %(n)s
                           - interval '2 minutes' AS at
                  FROM generate_series(1, %(n)s) g) AS o
        """, {"n": orders, "shoppers": SHOPPERS, "now": now, "days": DAYS})
        cursor.execute("""
            INSERT INTO orders_orderline (id, order_id, sku_id, product_id, title, spec_label,
                image_url, unit_price_fen, quantity, discount_fen, paid_fen,
                commission_override, refunded_quantity, refunded_fen)
            SELECT o.id, o.id, (%(skus)s::bigint[])[1 + o.id %% %(p)s],
                   (%(products)s::bigint[])[1 + o.id %% %(p)s], '商品', '', '',
                   o.total_fen, 1, 0, o.total_fen, '{}'::jsonb,
                   CASE WHEN o.refunded_fen > 0 THEN 1 ELSE 0 END, o.refunded_fen
            FROM orders_order o
        """, {"skus": sku_ids, "products": product_ids, "p": len(sku_ids)})
        # A third of the paid orders came through distributor 2k (tier 1, 10%) and its
        # recruiter 2k - 1 (tier 2, 5%); a refund reverses both in full.
        cursor.execute("""
            INSERT INTO distribution_orderattribution (order_id, distributor_id, self_purchase,
                plan_id, goods_paid_fen, paid_at, counted_fen)
            SELECT id, 2 * (1 + id %% %(pairs)s), false, NULL, goods_fen, paid_at, 0
            FROM orders_order WHERE paid_at IS NOT NULL AND id %% 3 = 0
        """, {"pairs": DISTRIBUTORS // 2})
        cursor.execute("""
            INSERT INTO distribution_commission (order_id, order_line_id, distributor_id,
                kind, tier, base_fen, rate_bp, fixed_fen, amount_fen, reversed_fen, shared_fen,
                status, plan_version, explanation, earned_at, created_at, reversed_at)
            SELECT a.order_id, a.order_id, a.distributor_id + 1 - t, 'sale', t,
                   a.goods_paid_fen, r.bp, 0, a.goods_paid_fen * r.bp / 10000,
                   CASE WHEN o.refunded_fen > 0 THEN a.goods_paid_fen * r.bp / 10000 ELSE 0 END,
                   0, CASE WHEN o.refunded_fen > 0 THEN 'reversed' ELSE 'pending' END, 1,
                   '{"rule": "plan rates"}'::jsonb, a.paid_at, a.paid_at,
                   CASE WHEN o.refunded_fen > 0 THEN a.paid_at END
            FROM distribution_orderattribution a JOIN orders_order o ON o.id = a.order_id,
                 (VALUES (1, 1000), (2, 500)) AS r(t, bp)
        """)
        cursor.execute("""
            UPDATE distribution_distributor d SET sales_fen = s.total
            FROM (SELECT distributor_id, sum(goods_paid_fen) AS total
                  FROM distribution_orderattribution a JOIN orders_order o ON o.id = a.order_id
                  WHERE o.refunded_fen = 0 GROUP BY distributor_id) s
            WHERE s.distributor_id = d.id
        """)
        _post_ledger(cursor)
        for table in ("shoppers_shopper", "distribution_distributor", "orders_order",
                      "orders_orderline", "distribution_commission"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT max(id) FROM {table}))")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _post_ledger(cursor) -> None:
    """The entries the services post for these orders, with their legs, in one statement
    per kind (the database checks each statement's entries balance)."""
    cursor.execute("""
        INSERT INTO ledger_account (code, party)
        SELECT 'distributor_payable', 'dist:' || id FROM distribution_distributor
        UNION ALL SELECT code, '' FROM unnest(ARRAY['wechat_clearing', 'sales_revenue',
            'refunds', 'commission_expense']) AS code
        ON CONFLICT DO NOTHING
    """)
    kinds = {
        "payment": ("SELECT id, number, paid_at FROM orders_order WHERE paid_at IS NOT NULL",
                    "SELECT 'wechat_clearing', '', o.total_fen UNION ALL "
                    "SELECT 'sales_revenue', '', -o.total_fen"),
        "refund": ("SELECT id, number, paid_at FROM orders_order WHERE refunded_fen > 0",
                   "SELECT 'refunds', '', o.refunded_fen UNION ALL "
                   "SELECT 'wechat_clearing', '', -o.refunded_fen"),
        "commission": (
            "SELECT DISTINCT o.id, o.number, o.paid_at FROM orders_order o "
            "JOIN distribution_commission c ON c.order_id = o.id",
            "SELECT 'commission_expense', '', sum(c.amount_fen) FROM distribution_commission c "
            "WHERE c.order_id = o.id UNION ALL "
            "SELECT 'distributor_payable', 'dist:' || c.distributor_id, -c.amount_fen "
            "FROM distribution_commission c WHERE c.order_id = o.id"),
        "commission_reversal": (
            "SELECT DISTINCT o.id, o.number, o.paid_at FROM orders_order o "
            "JOIN distribution_commission c ON c.order_id = o.id WHERE c.reversed_fen > 0",
            "SELECT 'distributor_payable', 'dist:' || c.distributor_id, c.reversed_fen "
            "FROM distribution_commission c WHERE c.order_id = o.id UNION ALL "
            "SELECT 'commission_expense', '', -sum(c.reversed_fen) "
            "FROM distribution_commission c WHERE c.order_id = o.id"),
    }
    for source, (entries, legs) in kinds.items():
        cursor.execute(f"""
            INSERT INTO ledger_journalentry (source, source_key, order_id, memo, posted_at)
            SELECT %s, number, id, '', paid_at FROM ({entries}) AS o
        """, [source])
        cursor.execute(f"""
            INSERT INTO ledger_journalleg (entry_id, account_id, amount_fen)
            SELECT e.id, a.id, leg.amount FROM ledger_journalentry e
            JOIN orders_order o ON o.id = e.order_id
            JOIN LATERAL ({legs}) AS leg(code, party, amount) ON true
            JOIN ledger_account a ON a.code = leg.code AND a.party = leg.party
            WHERE e.source = %s
        """, [source])


def _live_orders(count: int) -> None:
    """Orders placed and paid through the real services: the subscribers' rollups."""
    from storefront.orders.services import CheckoutItem, order_place
    from tests.factories.catalog import SkuFactory
    from tests.factories.orders import ShippingTemplateFactory
    from tests.factories.shoppers import AddressFactory
    from tests.insights.conftest import pay

    ShippingTemplateFactory(default_fee_fen=0, free_above_fen=0)
    sku = SkuFactory(price_fen=5990, stock=count * 2)
    for _ in range(count):
        address = AddressFactory()
        pay(order_place(shopper=address.shopper, items=[CheckoutItem(sku_id=sku.pk,
                                                                    quantity=2)],
                        address_id=address.pk))


def _from_orders_and_ledger(period) -> dict:
    """A period's figures straight from orders_order and the ledger's legs."""
    from django.db import connection

    from storefront.insights.rollups import SHANGHAI

    start = dt.datetime.combine(period.first, dt.time(), SHANGHAI)
    end = dt.datetime.combine(period.last + dt.timedelta(days=1), dt.time(), SHANGHAI)
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT count(*), coalesce(sum(total_fen), 0), count(DISTINCT shopper_id),
                   coalesce(sum(refunded_fen), 0)
            FROM orders_order WHERE paid_at >= %s AND paid_at < %s
        """, [start, end])
        orders, gmv, shoppers, refunded = cursor.fetchone()
        cursor.execute("""
            SELECT a.code, sum(l.amount_fen) FROM ledger_journalleg l
            JOIN ledger_journalentry e ON e.id = l.entry_id
            JOIN ledger_account a ON a.id = l.account_id
            WHERE a.code IN ('sales_revenue', 'refunds', 'commission_expense')
              AND e.order_id IN (SELECT id FROM orders_order
                                 WHERE paid_at >= %s AND paid_at < %s)
            GROUP BY a.code
        """, [start, end])
        ledger = dict(cursor.fetchall())
    return {
        "gmv_fen": gmv, "orders": orders, "paying_shoppers": shoppers,
        "refunded_fen": refunded, "commission_fen": int(ledger.get("commission_expense", 0)),
        "ledger_gmv_fen": -int(ledger.get("sales_revenue", 0)),
        "ledger_refunded_fen": int(ledger.get("refunds", 0)),
    }


def _matches(shown: dict, source: dict) -> bool:
    summary = shown["summary"]
    gmv, orders, refunded = source["gmv_fen"], source["orders"], source["refunded_fen"]
    return (
        summary["gmv_fen"] == gmv == source["ledger_gmv_fen"]
        and summary["refunded_fen"] == refunded == source["ledger_refunded_fen"]
        and summary["orders"] == orders
        and summary["paying_shoppers"] == source["paying_shoppers"]
        and summary["commission_fen"] == source["commission_fen"]
        and summary["average_order_fen"] == ((2 * gmv + orders) // (2 * orders) if orders else 0)
        and summary["refund_rate_bp"] == ((20_000 * refunded + gmv) // (2 * gmv) if gmv else 0)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=15)
    parser.add_argument("--live", type=int, default=20)
    args = parser.parse_args()

    port = free_port()
    _boot(port, BENCH_DATA)
    import requests
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from storefront.insights import rollups
    from storefront.insights.selectors import period_parse
    from tenants.services import merchant_signup
    from tests.factories.catalog import SkuFactory

    merchant = merchant_signup(name="Dashboard", slug="dash-bench",
                               owner_email="o@dash.example.com",
                               password="bench-Password-2026").merchant  # noqa: S106
    web = None
    connection.set_tenant(merchant)
    try:
        started = time.perf_counter()
        skus = [SkuFactory(stock=10**6) for _ in range(PRODUCTS)]
        _build(args.orders, [s.pk for s in skus], [s.product_id for s in skus])
        setup_s = time.perf_counter() - started
        print(f"{args.orders} orders ready ({setup_s:.1f}s)", flush=True)
        started = time.perf_counter()
        rollups.rollups_rebuild()
        rebuild_s = time.perf_counter() - started
        print(f"rollups rebuilt ({rebuild_s:.1f}s)", flush=True)
        started = time.perf_counter()
        _live_orders(args.live)
        live_ms = 1000 * (time.perf_counter() - started) / max(args.live, 1)
        print(f"{args.live} orders placed and paid through the services", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            cursor.execute("SELECT count(*) FROM orders_order")
            total_orders = cursor.fetchone()[0]

        owner = get_user_model().objects.get(is_superuser=True)
        signed_in = Client(HTTP_HOST=f"{merchant.slug}.localhost")
        signed_in.force_login(owner)
        cookies = {"sessionid": signed_in.cookies["sessionid"].value}
        # As behind the TLS-terminating proxy of production (SECURE_SSL_REDIRECT is on).
        host = {"Host": f"{merchant.slug}.localhost:{port}", "X-Forwarded-Proto": "https"}
        base = f"http://127.0.0.1:{port}"
        web = start_gunicorn(port)

        def get(path: str) -> requests.Response:
            response = requests.get(base + path, headers=host, cookies=cookies,
                                    timeout=30, allow_redirects=False)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code}")
            return response

        periods = itertools.cycle(PERIODS)
        for _ in range(args.warmup):
            get(f"/console/?period={next(periods)}")
        timings: dict[str, list[float]] = {p: [] for p in PERIODS}
        for _ in range(args.samples):
            period = next(periods)
            started = time.perf_counter()
            page = get(f"/console/?period={period}")
            timings[period].append(1000 * (time.perf_counter() - started))
        if 'id="stat-gmv"' not in page.text:
            raise RuntimeError("the home showed no sales figures")
        json_ms = []
        matches = True
        for period in PERIODS:
            started = time.perf_counter()
            shown = get(f"/console/dashboard/sales.json?period={period}").json()
            json_ms.append(1000 * (time.perf_counter() - started))
            source = _from_orders_and_ledger(period_parse(period))
            ok = _matches(shown, source)
            matches = matches and ok
            print(f"{period}: dashboard {shown['summary']} / orders and ledger {source}: "
                  f"{'match' if ok else 'MISMATCH'}", flush=True)
    finally:
        if web is not None:
            stop_gunicorn(web)
        connection.set_schema_to_public()
        stop_services()

    every = sorted(t for values in timings.values() for t in values)
    print(json.dumps({
        "benchmark": "dashboard",
        "orders": total_orders,
        "dashboard_p50_ms": round(percentile(every, 0.5), 1),
        "dashboard_p99_ms": round(percentile(every, 0.99), 1),
        "matches_ledger": matches,
        "per_period_p50_ms": {p: round(percentile(sorted(v), 0.5), 1)
                              for p, v in timings.items()},
        "sales_json_ms": [round(t, 1) for t in json_ms],
        "samples": args.samples,
        "rebuild_seconds": round(rebuild_s, 1),
        "paid_order_with_rollups_ms": round(live_ms, 1),
        "setup_seconds": round(setup_s, 1),
        "target_ms": 300,
    }))


if __name__ == "__main__":
    main()
