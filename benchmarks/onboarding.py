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
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
BENCH_DATA = PROJECT_DIR / ".data" / "bench"
PASSWORD = "bench-Password-2026"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _boot_django(port: int) -> None:
    shutil.rmtree(BENCH_DATA, ignore_errors=True)
    os.environ.update(
        DATA_DIR=str(BENCH_DATA), DEBUG="1", PLATFORM_DOMAIN=f"localhost:{port}",
        SIGNUP_THROTTLE_RATE="", LOG_LEVEL="WARNING", TENANT_SPARE_POOL_SIZE="1",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "control_plane.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate_platform", "--no-refill", verbosity=0)


def _start_web(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "control_plane.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
         "--log-level", "warning"],
        cwd=PROJECT_DIR, env=os.environ.copy(),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://localhost:{port}/healthz", timeout=2).status_code < 600:
                return process
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not come up")


def _add_existing_tenants(target: int, created: int) -> int:
    """Create merchants directly through the provisioning code (no HTTP), up to `target`."""
    from django.conf import settings
    from django.db import transaction

    from billing.models import Plan
    from tenants import provisioning
    from tenants.models import Domain, Merchant
    from tenants.slugs import schema_name_for

    plan = Plan.objects.get(is_default=True)
    while created < target:
        slug = f"existing-{created:05d}"
        with transaction.atomic():
            merchant = Merchant.objects.create(
                schema_name=schema_name_for(slug), name=slug, slug=slug, plan=plan,
                owner_email="owner@example.com",
            )
            Domain.objects.create(domain=f"{slug}.{settings.PLATFORM_HOST}", tenant=merchant)
            provisioning.provision_schema(merchant.schema_name)
        created += 1
    return created


def _empty_pool() -> None:
    from django.db import connection

    from tenants.models import SpareSchema

    for spare in SpareSchema.objects.all():
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{spare.schema_name}" CASCADE')
        spare.delete()


def _signup_to_home(port: int, slug: str) -> tuple[float, str]:
    started = time.perf_counter()
    response = requests.post(
        f"http://localhost:{port}/api/v1/merchants/",
        json={"name": slug, "slug": slug, "owner_email": "boss@example.com",
              "password": PASSWORD},
        timeout=30,
    )
    if response.status_code != 201:
        raise RuntimeError(f"signup failed: {response.status_code} {response.text}")
    # Python's resolver does not map *.localhost to 127.0.0.1 as browsers do: send the Host.
    home = f"http://127.0.0.1:{port}/"
    while requests.get(home, headers={"Host": f"{slug}.localhost"}, timeout=10).status_code != 200:
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    from tenants.models import Merchant

    return elapsed, Merchant.objects.get(slug=slug).schema_name


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

    port = _free_port()
    _boot_django(port)
    from tenants import provisioning

    web = _start_web(port)
    results: dict[str, dict] = {}
    created, serial = 0, 0
    try:
        for count in counts:
            setup_started = time.perf_counter()
            created = _add_existing_tenants(count, created)
            print(f"{count} tenants ready in {time.perf_counter() - setup_started:.1f}s",
                  flush=True)
            figures: dict[str, list[float]] = {"spare": [], "clone": [], "migrated": []}
            for _ in range(args.samples):
                provisioning.refill_spare_pool(target=1)
                serial += 1
                elapsed, _schema = _signup_to_home(port, f"bench-spare-{serial}")
                figures["spare"].append(elapsed)
                _empty_pool()
                serial += 1
                elapsed, _schema = _signup_to_home(port, f"bench-clone-{serial}")
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
        web.terminate()
        web.wait(timeout=15)
        from control_plane import embedded

        embedded.stop_services()
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
