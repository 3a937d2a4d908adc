"""Onboarding latency: seconds from the signup call to the new mall's home answering 200.

Sets up its own embedded PostgreSQL and Redis under .data/bench (wiped first), serves the
platform with gunicorn exactly as `make run` does, and measures at 10, 100 and 1,000
existing tenants:

- spare:    the production path, a spare schema waiting in the pool (the worker refills it
            in the background; here the benchmark refills it between samples);
- clone:    the pool empty, the signup clones the template inline;
- migrated: for comparison, the time to create one schema by running its migrations
            (what django-tenants does without a template), signup overhead excluded.

Usage: .venv/bin/python benchmarks/onboarding.py [--counts 10,100,1000] [--samples 7]
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from _common import (
    PROJECT_DIR,
    add_tenants,
    boot_django,
    free_port,
    signup_to_home,
    start_gunicorn,
    stop_gunicorn,
)
from _common import stop_services as stop_embedded_services

BENCH_DATA = PROJECT_DIR / ".data" / "bench"


def _boot_django(port: int) -> None:
    boot_django(BENCH_DATA, {
        "DEBUG": "1", "PLATFORM_DOMAIN": f"localhost:{port}",
        "SIGNUP_THROTTLE_RATE": "", "LOG_LEVEL": "WARNING", "TENANT_SPARE_POOL_SIZE": "1",
    })


def _empty_pool() -> None:
    from django.db import connection

    from tenants.models import SpareSchema

    for spare in SpareSchema.objects.all():
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{spare.schema_name}" CASCADE')
        spare.delete()


def _migrated_schema_seconds(name: str) -> float:
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{name}"')
    call_command("migrate_schemas", schema_name=name, interactive=False, verbosity=0)
    elapsed = time.perf_counter() - started
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{name}" CASCADE')
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", default="10,100,1000")
    parser.add_argument("--samples", type=int, default=7)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]

    port = free_port()
    _boot_django(port)
    from tenants import provisioning

    web = start_gunicorn(port)
    results: dict[str, dict] = {}
    created, serial = 0, 0
    try:
        for count in counts:
            setup_started = time.perf_counter()
            created = add_tenants(count, created)
            print(f"{count} tenants ready in {time.perf_counter() - setup_started:.1f}s",
                  flush=True)
            figures: dict[str, list[float]] = {"spare": [], "clone": [], "migrated": []}
            for _ in range(args.samples):
                provisioning.refill_spare_pool(target=1)
                serial += 1
                elapsed = signup_to_home(port, f"bench-spare-{serial}")
                figures["spare"].append(elapsed)
                _empty_pool()
                serial += 1
                elapsed = signup_to_home(port, f"bench-clone-{serial}")
                figures["clone"].append(elapsed)
            for sample in range(3):
                figures["migrated"].append(_migrated_schema_seconds(f"bench_mig_{count}_{sample}"))
            # signups made here count as existing tenants from now on
            created += 2 * args.samples
            results[str(count)] = {
                f"{mode}_median_s": round(statistics.median(values), 3)
                for mode, values in figures.items()
            } | {
                f"{mode}_max_s": round(max(values), 3) for mode, values in figures.items()
            }
            print(count, json.dumps(results[str(count)]), flush=True)
    finally:
        stop_gunicorn(web)
        stop_embedded_services()
    top = str(counts[-1])
    summary = {
        "benchmark": "onboarding",
        "samples": args.samples,
        "by_tenant_count": results,
        "target_median_s_at_1000": 1.0,
        "median_s_at_largest": results[top]["spare_median_s"],
        "meets_target": results[top]["spare_median_s"] <= 1.0,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
