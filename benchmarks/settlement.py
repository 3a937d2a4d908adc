"""A month of commissions settled into statements and ledger entries.

Sets up its own embedded PostgreSQL and Redis under .data/bench-settlement (wiped first), one
mall with `--distributors` distributors (100,000) and `--entries` available commissions
(1,000,000) earned in October 2026 (Asia/Shanghai), on orders of 5 lines paid through a
2-tier chain, each with its accrual entry and the order's ledger entry (`commission`:
Dr commission_expense, Cr each payable), all built set-based in SQL as the services would
write them. Income-tax withholding is on.

Then it times `settlement.statements_generate(October)`: the statements, the commissions
linked to them and moved to settled with their history rows, and the ledger
entries of the approved statements. It checks that the ledger still sums to zero, every
entry balances, and every distributor's withdrawable balance equals their statement's net.

Target (issue 9): ≤ 30 s for 1,000,000 entries and 100,000 distributors.

Usage: .venv/bin/python benchmarks/settlement.py [--distributors 100000] [--entries 1000000]
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time

from _common import free_port, stop_services
from checkout_contention import PROJECT_DIR, _boot

BENCH_DATA = PROJECT_DIR / ".data" / "bench-settlement"
LINES_PER_ORDER = 5
TIERS = 2


def _build(distributors: int, entries: int) -> None:
    """Distributors in chains of two (odd ids recruited by the id before), orders of 5
    lines each bought through one of them, a commission per line and tier."""
    from django.db import connection, transaction

    orders = entries // (LINES_PER_ORDER * TIERS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO shoppers_shopper (id, phone, wechat_openid, wechat_unionid, nickname,
                avatar_url, share_code, is_active, created_at)
            SELECT g, NULL, 'o-bench-' || g, '', 'd' || g, '', 's' || g, true, now()
            FROM generate_series(1, %(n)s) g
        """, {"n": distributors})
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
        """, {"n": distributors})
        cursor.execute("SELECT id FROM catalog_sku LIMIT 1")
        sku_id = cursor.fetchone()[0]
        cursor.execute("SELECT product_id FROM catalog_sku WHERE id = %s", [sku_id])
        product_id = cursor.fetchone()[0]
        paid = dt.datetime(2026, 10, 15, 12, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        cursor.execute("""
            INSERT INTO orders_order (id, number, shopper_id, status, goods_fen,
                discount_fen, shipping_fen, total_fen, refunded_fen, address, note,
                created_at, pay_deadline, paid_at, shipped_at, received_at, completed_at,
                carrier, tracking_number, cancel_reason)
            SELECT g, 'B' || lpad(g::text, 12, '0'), 1, 'completed', 5 * 9900, 0, 0,
                   5 * 9900, 0, '{}'::jsonb, '', %(paid)s, %(paid)s, %(paid)s, %(paid)s,
                   %(paid)s, %(paid)s, 'SF', 'SF1', ''
            FROM generate_series(1, %(orders)s) g
        """, {"orders": orders, "paid": paid})
        cursor.execute("""
            INSERT INTO orders_orderline (id, order_id, sku_id, product_id, title, spec_label,
                image_url, unit_price_fen, quantity, discount_fen, paid_fen,
                commission_override, refunded_quantity, refunded_fen)
            SELECT (o - 1) * %(lines)s + l, o, %(sku)s, %(product)s, '商品', '', '', 9900,
                   1, 0, 9900, '{}'::jsonb, 0, 0
            FROM generate_series(1, %(orders)s) o, generate_series(1, %(lines)s) l
        """, {"orders": orders, "lines": LINES_PER_ORDER, "sku": sku_id,
              "product": product_id})
        # Order o is bought through the even distributor 2k (tier 1) and its recruiter
        # 2k - 1 (tier 2); a few distributors earn far more (over the review amount).
        cursor.execute("""
            INSERT INTO distribution_commission (order_id, order_line_id, distributor_id,
                kind, tier, base_fen, rate_bp, fixed_fen, amount_fen, reversed_fen, shared_fen,
                status, plan_version, explanation, earned_at, created_at, available_at)
            SELECT ol.order_id, ol.id,
                   CASE t WHEN 1 THEN tier1 ELSE tier1 - 1 END,
                   'sale', t, 9900, CASE t WHEN 1 THEN 1000 ELSE 500 END, 0,
                   CASE t WHEN 1 THEN 990 ELSE 495 END, 0, 0, 'available', 1,
                   '{"rule": "plan rates"}'::jsonb, %(paid)s, %(paid)s, %(paid)s
            FROM (SELECT ol.*, 2 * (1 + (ol.order_id - 1) %% (%(n)s / 2)) AS tier1
                  FROM orders_orderline ol) ol,
                 generate_series(1, %(tiers)s) t
        """, {"paid": paid, "n": distributors, "tiers": TIERS})
        cursor.execute("ANALYZE")  # fresh tables: let the planner see their sizes
        _post_accruals(cursor, paid)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _post_accruals(cursor, paid) -> None:
    """The orders' `commission` ledger entries, as order_commissions_accrue posts them."""
    cursor.execute("""
        INSERT INTO ledger_account (code, party)
        SELECT 'distributor_payable', 'dist:' || id FROM distribution_distributor
        UNION ALL SELECT 'commission_expense', ''
        ON CONFLICT DO NOTHING
    """)
    cursor.execute("""
        INSERT INTO ledger_journalentry (source, source_key, order_id, memo, posted_at)
        SELECT 'commission', number, id, 'commission on order ' || number, %s
        FROM orders_order
    """, [paid])
    cursor.execute("""
        INSERT INTO ledger_journalleg (entry_id, account_id, amount_fen)
        SELECT j.id, a.id, leg.amount FROM ledger_journalentry j
        JOIN LATERAL (
            SELECT 'dist:' || c.distributor_id AS party, 'distributor_payable' AS code,
                   -sum(c.amount_fen) AS amount
            FROM distribution_commission c WHERE c.order_id = j.order_id
            GROUP BY c.distributor_id
            UNION ALL
            SELECT '', 'commission_expense', sum(c.amount_fen)
            FROM distribution_commission c WHERE c.order_id = j.order_id
        ) leg ON true
        JOIN ledger_account a ON a.code = leg.code AND a.party = leg.party
        WHERE j.source = 'commission'
    """)


def _figures(distributors_with_money: int) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(amount_fen), 0) FROM ledger_journalleg")
        total = cursor.fetchone()[0]
        cursor.execute("""SELECT count(*) FROM (SELECT entry_id FROM ledger_journalleg
                          GROUP BY entry_id HAVING sum(amount_fen) <> 0) x""")
        unbalanced = cursor.fetchone()[0]
        cursor.execute("""
            SELECT count(*) FROM distribution_statement s
            JOIN ledger_account a ON a.code = 'distributor_withdrawable'
                 AND a.party = 'dist:' || s.distributor_id
            WHERE s.status = 'approved' AND -(SELECT sum(amount_fen) FROM ledger_journalleg l
                                             WHERE l.account_id = a.id) <> s.net_fen
        """)
        wrong_balances = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM distribution_commission "
                       "WHERE statement_id IS NULL")
        unsettled = cursor.fetchone()[0]
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE status = 'in_review'), "
                       "coalesce(sum(tax_fen), 0) FROM distribution_statement")
        statements, in_review, tax = cursor.fetchone()
    total, tax = int(total), int(tax)
    return {"ledger_total_fen": total, "unbalanced_entries": unbalanced,
            "wrong_balances": wrong_balances, "unsettled_entries": unsettled,
            "statements": statements, "in_review": in_review, "tax_withheld_fen": tax,
            "ledger_balanced": total == 0 and unbalanced == 0 and wrong_balances == 0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--distributors", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()

    _boot(free_port(), BENCH_DATA)
    from django.db import connection

    from storefront.distribution import settlement
    from storefront.distribution.models import DistributionSettings
    from tenants.services import merchant_signup
    from tests.factories.catalog import SkuFactory

    merchant = merchant_signup(name="Settle", slug="settle-bench",
                               owner_email="o@settle.example.com",
                               password="bench-Password-2026").merchant  # noqa: S106
    connection.set_tenant(merchant)
    try:
        started = time.perf_counter()
        rules = DistributionSettings.current()
        rules.withhold_income_tax = True
        rules.statement_review_from_fen = 2_000_000
        rules.save()
        SkuFactory()
        _build(args.distributors, args.entries)
        setup_s = time.perf_counter() - started
        print(f"{args.entries} entries for {args.distributors} distributors ready "
              f"({setup_s:.1f}s)", flush=True)

        started = time.perf_counter()
        run = settlement.statements_generate(dt.date(2026, 10, 1))
        settle_s = time.perf_counter() - started
        print(f"settled: {run}", flush=True)
        figures = _figures(args.distributors)
    finally:
        connection.set_schema_to_public()
        stop_services()

    print(json.dumps({
        "benchmark": "settlement",
        "entries": run.entries,
        "distributors": args.distributors,
        "settle_seconds": round(settle_s, 2),
        "batches": run.batches,
        "setup_seconds": round(setup_s, 1),
        **figures,
        "target_seconds": 30,
    }))


if __name__ == "__main__":
    main()
