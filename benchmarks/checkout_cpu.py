"""What one checkout costs, single-threaded: SQL statements and CPU per `order_place`.

Throughput on a shared 2-core machine moves with other people's load; the statements a
checkout runs do not move at all, and its CPU per order moves far less. So this is the
benchmark to compare two versions of the checkout code with (run each a few times,
alternating). Sets up the same mall as checkout_contention.py (one SKU, N shoppers with an
address), places `--warmup` orders, counts the statements of one order (its after-commit
work included), then times `--orders` orders one after another.

    .venv/bin/python benchmarks/checkout_cpu.py [--orders 500] [--warmup 50]
"""

from __future__ import annotations

import argparse
import json
import time

from _common import free_port, stop_services
from checkout_contention import PROJECT_DIR, _boot, _set_up_mall

BENCH_DATA = PROJECT_DIR / ".data" / "bench-checkout-cpu"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()

    _boot(free_port(), BENCH_DATA)
    merchant, sku_id, shoppers = _set_up_mall(
        shoppers=args.orders + args.warmup + 1, stock=10 * (args.orders + args.warmup)
    )
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from storefront.orders.services import CheckoutItem, order_place

    connection.set_tenant(merchant)
    buyers = iter(shoppers)

    def place() -> None:
        shopper, address_id = next(buyers)
        order_place(shopper=shopper, items=[CheckoutItem(sku_id=sku_id, quantity=1)],
                    address_id=address_id, clear_cart=False)

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
