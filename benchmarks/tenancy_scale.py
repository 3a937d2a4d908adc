"""Tenancy at scale: deploys and signups with thousands of malls (issue 12, item 4).

Sets up its own embedded PostgreSQL and Redis under .data/bench-scale (wiped first), with
`benchmarks.scale_settings`: the production settings plus a throwaway tenant app
(`benchmarks/scalebench`) whose migration modules give a one-column migration to deploy
without touching the product's apps.

Malls are made in bulk, honestly: the tenant template is dumped once with pg_dump and the
dump replayed under each new schema name (N schemas per transaction, `--jobs` connections),
with their `Merchant` and `Domain` rows. Every schema is a real copy of the template: the
same tables, indexes, triggers, rows and `django_migrations`, so `migrate_platform` and
plain `migrate_schemas` see exactly what they would see after as many signups.

Measured (each deploy is `manage.py …` in a subprocess, Django start-up included):

- deploy, nothing to migrate, at each count in --counts: `migrate_platform` (ours: one
  fingerprint query per 200 schemas, then only the schemas behind) against plain
  django-tenants `migrate_schemas --executor=multiprocessing` (a `migrate` per schema),
  the latter stopped after --plain-cap seconds and reported with how many schemas it did;
- one-column migration at the first count: `migrate_platform` applying migrations_v2's
  AddField, against plain `migrate_schemas` applying v3's (also one AddField), capped too;
  the schemas the capped run left behind are then brought to head by `migrate_platform`;
- signups at the largest count: HTTP signup → the new mall's home answering 200, as
  onboarding.py does, --samples times with the spare pool refilled between them;
- a burst: --burst signups spread evenly over --burst-seconds (each in its own thread, so a
  slow one does not delay the next), with a Celery worker refilling the spare pool from the
  tasks the signups enqueue, as in production. Reports p50/p95/max and how many signups
  found the pool empty and cloned the template inline.

Usage: .venv/bin/python benchmarks/tenancy_scale.py [--counts 150,1000] [--jobs 2]
       [--plain-cap 60] [--samples 15] [--burst 50] [--burst-seconds 60]
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import (
    PROJECT_DIR,
    boot_django,
    free_port,
    percentile,
    signup_to_home,
    start_gunicorn,
    stop_gunicorn,
)
from _common import stop_services as stop_embedded_services

BENCH_DATA = PROJECT_DIR / ".data" / "bench-scale"
BATCH = 25  # schemas per transaction when replaying the template dump


def _env(step: str = "v1") -> dict[str, str]:
    return {
        "DEBUG": "1", "SIGNUP_THROTTLE_RATE": "", "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "benchmarks.scale_settings", "SCALE_BENCH_MIGRATIONS": step,
    }


def _pg_bin(name: str) -> str:
    import pgserver

    return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)


def _template_sql() -> str:
    """The template schema as SQL (DDL and rows), with its name as a placeholder."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    env = dict(os.environ, PGHOST=db["HOST"], PGUSER=db["USER"] or "postgres",
               PGDATABASE=db["NAME"])
    dump = subprocess.run(
        [_pg_bin("pg_dump"), f"--schema={settings.TENANT_BASE_SCHEMA}", "--inserts",
         "--no-owner", "--no-privileges"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    body = "\n".join(
        line for line in dump.splitlines()
        if not line.startswith(("--", "SET ")) and "set_config('search_path'" not in line
    )
    return re.sub(rf"\b{settings.TENANT_BASE_SCHEMA}\b", "{schema}", body.replace("{", "{{")
                  .replace("}", "}}"))


def add_malls_bulk(target: int, created: int, *, jobs: int) -> int:
    """Malls `scale-00000` … up to `target`: rows and replayed schemas, BATCH per transaction,
    over `jobs` connections. Returns the new count."""
    from django.conf import settings
    from django.db import connection, transaction

    from billing.models import Plan
    from tenants.models import Domain, Merchant
    from tenants.slugs import schema_name_for

    template = _template_sql()
    plan = Plan.objects.get(is_default=True)

    def batch(numbers: range) -> None:
        try:
            slugs = [f"scale-{n:05d}" for n in numbers]
            with transaction.atomic():
                merchants = Merchant.objects.bulk_create([
                    Merchant(schema_name=schema_name_for(s), name=s, slug=s, plan=plan,
                             owner_email="owner@example.com")
                    for s in slugs
                ])
                Domain.objects.bulk_create([
                    Domain(domain=f"{m.slug}.{settings.PLATFORM_HOST}", tenant=m)
                    for m in merchants
                ])
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
                    cursor.execute("".join(
                        template.format(schema=m.schema_name) for m in merchants
                    ))
        finally:
            connection.close()

    ranges = [range(n, min(n + BATCH, target)) for n in range(created, target, BATCH)]
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(batch, ranges))
    return target


def run_manage(args: list[str], *, step: str, cap: float | None = None) -> dict:
    """`manage.py <args>` in a subprocess against this benchmark's servers; wall seconds,
    whether it finished within `cap`, and how many schemas django-tenants started."""
    env = os.environ.copy() | _env(step)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        process.wait(timeout=cap)
        finished = True
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait(timeout=30)
        finished = False
    seconds = time.perf_counter() - started
    reader.join(timeout=10)
    if finished and process.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{''.join(lines[-30:])}")
    return {
        "seconds": round(seconds, 2),
        "finished": finished,
        "schemas_started": sum("Starting migration" in line for line in lines),
        "summary": next((ln.strip() for ln in lines if "tenant schema(s)" in ln), None),
    }


def _ours_against_plain(count: int, cap: float, ours_step: str, plain_step: str) -> dict:
    """`migrate_platform` at `ours_step`'s migrations, then plain `migrate_schemas` at
    `plain_step`'s, the latter capped and, when cut short, extrapolated to all `count`."""
    ours = run_manage(["migrate_platform", "--no-refill"], step=ours_step)
    plain = run_manage(
        ["migrate_schemas", "--executor=multiprocessing", "--noinput"], step=plain_step, cap=cap
    )
    figures = {"ours_s": ours["seconds"], "ours": ours, "plain": plain}
    if plain["finished"]:
        figures["plain_s"] = plain["seconds"]
    elif plain["schemas_started"]:
        figures["plain_s_extrapolated"] = round(
            plain["seconds"] * count / plain["schemas_started"], 1
        )
    return figures


def _noop_deploys(count: int, cap: float) -> dict:
    figures = _ours_against_plain(count, cap, ours_step="v1", plain_step="v1")
    print(count, "noop", json.dumps(figures), flush=True)
    return figures


def _column_deploys(count: int, cap: float) -> dict:
    figures = _ours_against_plain(count, cap, ours_step="v2", plain_step="v3")
    # the template and the malls the capped run did not reach, to v3 (and checked)
    figures["catch_up"] = run_manage(["migrate_platform", "--no-refill"], step="v3")
    print(count, "column", json.dumps(figures), flush=True)
    return figures


def _check_all_at_head() -> int:
    from tenants import provisioning
    from tenants.models import Merchant

    pending = provisioning.pending_tenant_schemas(
        list(Merchant.objects.values_list("schema_name", flat=True))
    )
    if pending:
        raise RuntimeError(f"{len(pending)} schema(s) not at head, e.g. {pending[:3]}")
    return 0


def _start_worker() -> subprocess.Popen:
    env = os.environ.copy()
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "celery"), "-A", "control_plane", "worker",
         "--loglevel", "WARNING", "--concurrency", "2", "--hostname", "bench-scale@%h"],
        cwd=PROJECT_DIR, env=env,
    )


def _burst(port: int, count: int, seconds: float) -> dict:
    from tenants.models import Merchant

    before = Merchant.objects.count()
    results: list[float] = []
    errors: list[str] = []

    def one(i: int) -> None:
        try:
            results.append(signup_to_home(port, f"burst-{i:03d}"))
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            errors.append(repr(exc)[:200])

    threads = []
    started = time.perf_counter()
    for i in range(count):
        delay = started + i * seconds / count - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=one, args=(i,))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    values = sorted(results)
    return {
        "signups": count, "over_s": seconds, "ok": len(values), "errors": errors[:5],
        "p50_s": round(percentile(values, 0.5), 3), "p95_s": round(percentile(values, 0.95), 3),
        "max_s": round(values[-1], 3) if values else None,
        "malls_after": Merchant.objects.count(), "malls_before": before,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", default="150,1000")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--plain-cap", type=float, default=60.0)
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--burst-seconds", type=float, default=60.0)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]

    port = free_port()
    boot_django(BENCH_DATA, _env() | {"PLATFORM_DOMAIN": f"localhost:{port}"})
    from django.db import connection

    from tenants import provisioning

    results: dict = {"setup": {}, "noop": {}, "column": {}}
    created = 0
    web = worker = None
    try:
        for index, count in enumerate(counts):
            started = time.perf_counter()
            created = add_malls_bulk(count, created, jobs=args.jobs)
            seconds = time.perf_counter() - started
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_database_size(current_database())")
                size = cursor.fetchone()[0]
            results["setup"][str(count)] = {
                "seconds": round(seconds, 1), "database_gb": round(size / 1e9, 1),
            }
            print(f"{count} malls ready ({seconds:.0f}s, {size / 1e9:.1f} GB)", flush=True)
            results["noop"][str(count)] = _noop_deploys(count, args.plain_cap)
            if index == 0:
                results["column"][str(count)] = _column_deploys(count, args.plain_cap)
                _check_all_at_head()
        _check_all_at_head()
        top = counts[-1]
        os.environ["SCALE_BENCH_MIGRATIONS"] = "v3"
        web = start_gunicorn(port)
        samples = []
        for i in range(args.samples):
            provisioning.refill_spare_pool()
            samples.append(signup_to_home(port, f"single-{i:03d}"))
        samples.sort()
        results["signup"] = {
            "malls": top, "samples": len(samples),
            "median_s": round(statistics.median(samples), 3),
            "p95_s": round(percentile(samples, 0.95), 3), "max_s": round(samples[-1], 3),
        }
        print("signup", json.dumps(results["signup"]), flush=True)
        provisioning.refill_spare_pool()
        worker = _start_worker()
        time.sleep(5)
        results["burst"] = _burst(port, args.burst, args.burst_seconds)
        print("burst", json.dumps(results["burst"]), flush=True)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        if web is not None:
            stop_gunicorn(web)
        stop_embedded_services()
    top_key = str(counts[-1])
    noop_top = results["noop"][top_key]
    column = results["column"][str(counts[0])]
    summary = {
        "benchmark": "tenancy_scale",
        "malls": counts[-1],
        "note": (f"measured at {counts[-1]} malls, not 10,000: see benchmarks/README.md"
                 if counts[-1] != 10000 else ""),
        "deploy_noop_s_10000": noop_top["ours_s"] if counts[-1] == 10000 else None,
        "deploy_noop_s": noop_top["ours_s"],
        "deploy_noop_plain_s": noop_top.get("plain_s"),
        "deploy_noop_plain_s_extrapolated": noop_top.get("plain_s_extrapolated"),
        "column_migration_malls": counts[0],
        "column_migration_s": column["ours_s"],
        "column_migration_plain_s": column.get("plain_s"),
        "column_migration_plain_s_extrapolated": column.get("plain_s_extrapolated"),
        "signup_median_s_10000": results["signup"]["median_s"] if counts[-1] == 10000 else None,
        "signup_median_s": results["signup"]["median_s"],
        "signup_p95_s_burst": results["burst"]["p95_s"],
        "targets": {"deploy_noop_s": 10.0, "signup_median_s": 0.3, "signup_p95_s_burst": 1.0},
        "details": results,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
