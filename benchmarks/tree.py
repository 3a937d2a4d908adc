"""The recruitment tree at a million distributors: an order's commission chain, and a
leader's team totals.

Sets up its own embedded PostgreSQL and Redis under .data/bench-tree (wiped first), one mall
with `--distributors` distributors (1,000,000) in a 10-ary tree (each distributor recruited
by `(id - 2) // 10 + 1`, so a distributor at depth 1 leads a team of about 111,000), built
set-based in SQL with the same `path`/`depth` the services write, and a bound customer for
each of `--samples` random distributors. Then it times, through the engine's own functions:

- chain: `commissions._chain` (the buyer's binding, tier 1 and the upline by the path, with
         their levels) and `calculator.compute` on a 3-line order under a 3-tier plan;
- team:  `tree.team_totals` of a distributor at depth 1 (members, direct, sales): one range
         scan of the path index, which carries `sales_fen`.

Targets (issue 9): chain ≤ 5 ms p99; team totals over ≥ 100,000 descendants ≤ 20 ms p99.

Usage: .venv/bin/python benchmarks/tree.py [--distributors 1000000] [--samples 2000]
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from _common import free_port, percentile, stop_services
from checkout_contention import PROJECT_DIR, _boot

BENCH_DATA = PROJECT_DIR / ".data" / "bench-tree"
BRANCHING = 10


def _build(n: int) -> None:
    """Shoppers 1..n and distributors 1..n in one tree, set-based."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO shoppers_shopper (id, phone, wechat_openid, wechat_unionid, nickname,
                avatar_url, share_code, is_active, created_at)
            SELECT g, NULL, 'o-bench-' || g, '', 'd' || g, '', 's' || g, true, now()
            FROM generate_series(1, %s) g
        """, [n])
        cursor.execute("""
            WITH RECURSIVE t(id, parent, path, depth) AS (
                SELECT 1, NULL::int, '/1/'::text, 0
                UNION ALL
                SELECT c.id, c.parent, t.path || c.id || '/', t.depth + 1
                FROM t JOIN (SELECT g AS id, (g - 2) / %s + 1 AS parent
                             FROM generate_series(2, %s) g) c ON c.parent = t.id
            )
            INSERT INTO distribution_distributor (id, shopper_id, status, invite_code,
                level_id, recruiter_id, path, depth, joined_via, application_note,
                sales_fen, created_at, activated_at)
            SELECT id, id, 'active', 'B' || to_hex(id), (SELECT min(id) FROM
                   distribution_level), parent, path, depth, 'request', '',
                   (random() * 100000)::int, now(), now()
            FROM t
        """, [BRANCHING, n])
        for table in ("shoppers_shopper", "distribution_distributor"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [n])
        # What autovacuum does to a table loaded long ago: statistics, and the visibility
        # map that lets the team's range scan read the index alone.
        cursor.execute("VACUUM ANALYZE distribution_distributor")
        cursor.execute("VACUUM ANALYZE shoppers_shopper")
        cursor.execute("ANALYZE")
        cursor.execute("CHECKPOINT")  # the load's writes, before anything is timed


def _bind_buyers(samples: int, n: int, rng: random.Random) -> list[int]:
    """`samples` new shoppers, each bound to a random distributor deep in the tree."""
    from storefront.distribution.models import CustomerBinding
    from storefront.shoppers.models import Shopper

    buyers = Shopper.objects.bulk_create(
        Shopper(nickname=f"buyer{i}", share_code=f"b{i}") for i in range(samples))
    CustomerBinding.objects.bulk_create(
        CustomerBinding(shopper=buyer, distributor_id=rng.randint(n // 2, n))
        for buyer in buyers)
    return [buyer.pk for buyer in buyers]


def _time(calls, fn) -> list[float]:
    laps = []
    for argument in calls:
        started = time.perf_counter()
        fn(argument)
        laps.append((time.perf_counter() - started) * 1000)
    return sorted(laps)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--distributors", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(9)

    _boot(free_port(), BENCH_DATA)
    from django.db import connection
    from django.utils import timezone

    from storefront.distribution import calculator, commissions, plans, tree
    from storefront.distribution.models import DistributionSettings, Distributor, Level
    from storefront.orders.models import Order
    from tenants.services import merchant_signup

    merchant = merchant_signup(name="Tree", slug="tree-bench", owner_email="o@tree.example.com",
                               password="bench-Password-2026").merchant  # noqa: S106
    connection.set_tenant(merchant)
    try:
        started = time.perf_counter()
        rules = DistributionSettings.current()
        rules.commission_cap_bp = 5000
        rules.save()
        Level.objects.create(name="普通", rank=0, rates_bp=[1000, 500, 200])
        plan = plans.plan_activate(plan_id=plans.plan_create(
            {"name": "bench", "tiers": 3, "rates_bp": [1000, 500, 200]}).pk)
        _build(args.distributors)
        buyers = _bind_buyers(args.samples, args.distributors, rng)
        print(f"{args.distributors} distributors ready "
              f"({time.perf_counter() - started:.1f}s)", flush=True)

        policy = plans.policy_of(plan, rules)
        lines = [calculator.Line(ref=i, paid_fen=9900 + i, quantity=1 + i) for i in range(3)]
        now = timezone.now()

        def chain_and_compute(buyer_id: int) -> None:
            order = Order(shopper_id=buyer_id, paid_at=now)
            _first, _self, chain = commissions._chain(order, plan)
            earners = [calculator.Earner(tier=tier, ref=d.pk,
                                         level_rates_bp=tuple(d.level.rates_bp))
                       for tier, d in enumerate(chain, start=1) if d is not None]
            shares = calculator.compute(policy=policy, lines=lines, earners=earners)
            assert len(shares) == 9, shares

        chain_and_compute(buyers[0])  # warm
        chain_ms = _time(buyers, chain_and_compute)

        leaders = list(Distributor.objects.filter(depth=1).order_by("pk"))
        descendants = []

        def team(leader) -> None:
            descendants.append(tree.team_totals(leader).members)

        team(leaders[0])  # warm
        team_ms = _time(leaders * max(1, 200 // len(leaders)), team)
    finally:
        connection.set_schema_to_public()
        stop_services()

    summary = {
        "benchmark": "tree",
        "distributors": args.distributors,
        "chain_samples": len(chain_ms),
        "chain_p50_ms": round(percentile(chain_ms, 0.5), 3),
        "chain_p99_ms": round(percentile(chain_ms, 0.99), 3),
        "team_samples": len(team_ms),
        "team_totals_p50_ms": round(percentile(team_ms, 0.5), 3),
        "team_totals_p99_ms": round(percentile(team_ms, 0.99), 3),
        "descendants": min(descendants),
        "targets": {"chain_p99_ms": 5, "team_totals_p99_ms": 20},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
