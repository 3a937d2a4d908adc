"""What one checkout costs, single-threaded: SQL statements and CPU per `order_place`.

Throughput on a shared 2-core machine moves with other people's load; the statements a
checkout runs do not move at all, and its CPU per order moves far less. So this is the
benchmark to compare two versions of the checkout code with (run each a few times,
alternating). Sets up the same mall as checkout_contention.py (one SKU, N shoppers with an
address), places `--warmup` orders, counts the statements of one order (its after-commit
work included), then times `--orders` orders one after another.

    .venv/bin/python benchmarks/checkout_cpu.py [--orders 500] [--warmup 50]
        [--referrers 100] [--pay]

`--referrers` puts a distributor's share code on every order (issue 9: checkout with a
referrer against checkout without distribution); `--pay` marks each order paid as well, so
the figures include what a payment sets off (sales counts, attribution, commissions and
their ledger entry).
"""

from __future__ import annotations

import argparse
import json
import time

from _common import free_port, stop_services
from checkout_contention import PROJECT_DIR, REFERRER_CODES, _boot, _set_up_mall

BENCH_DATA = PROJECT_DIR / ".data" / "bench-checkout-cpu"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--referrers", type=int, default=0,
                        help="distributors whose share codes the orders carry (0: none)")
    parser.add_argument("--pay", action="store_true",
                        help="also mark each order paid (its order.paid subscribers: "
                             "sales counts and, with --referrers, the commissions)")
    args = parser.parse_args()

    _boot(free_port(), BENCH_DATA)
    merchant, sku_id, shoppers = _set_up_mall(
        shoppers=args.orders + args.warmup + 1, stock=10 * (args.orders + args.warmup),
        referrers=args.referrers,
    )
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.actors import Actor
    from storefront.orders.services import CheckoutItem, order_mark_paid, order_place

    connection.set_tenant(merchant)
    buyers = iter(shoppers)
    turn = iter(range(10**9))

    def place() -> None:
        shopper, address_id = next(buyers)
        referrer = REFERRER_CODES[next(turn) % len(REFERRER_CODES)] if REFERRER_CODES else None
        order = order_place(shopper=shopper, items=[CheckoutItem(sku_id=sku_id, quantity=1)],
                            address_id=address_id, clear_cart=False, referrer_code=referrer)
        if args.pay:
            order_mark_paid(order=order, actor=Actor.system())

    try:
        for _ in range(args.warmup):
            place()
        with CaptureQueriesContext(connection) as queries:
            place()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.orders - 1):
            place()
        orders = args.orders - 1
        figures = {
            "benchmark": "checkout_cpu",
            "orders": orders,
            "referrers": args.referrers,
            "pay": args.pay,
            "statements_per_order": len(queries),
            "statements": [query["sql"].split(" (")[0][:48] for query in queries],
            "cpu_ms_per_order": round((time.process_time() - cpu) / orders * 1000, 2),
            "wall_ms_per_order": round((time.perf_counter() - wall) / orders * 1000, 2),
        }
    finally:
        connection.set_schema_to_public()
        connection.close()
        stop_services()
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
