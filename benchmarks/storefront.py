"""Storefront throughput: many malls, many products, 50 concurrent shoppers.

Sets up its own embedded PostgreSQL and Redis under .data/bench-storefront (wiped first),
creates 100 malls (provisioned like onboarding.py's existing tenants) holding 1,000 products
each (one category, one SKU per product, all on shelf, prices and sales counts varied so the
sorts do work), serves them with gunicorn as `make run` does (2 workers × 4 threads), but
with DEBUG off, and loads it with wrk (30 s, 50 connections, `--latency`). A Lua script
rotates the Host header over every mall, so each request goes through tenant routing:

- bare:           `/bench/bare`, a view that only answers (benchmarks/bench_urls.py), through
                  the same gunicorn and middleware stack: the ceiling the pages are read against;
- product_detail: `/products/<id>/`, 20 products of each mall, anonymous;
- home:           `/`, each mall's home page, anonymous;
- product_list:   `/api/v1/products/?sort=sales`, the first page of each mall's list API;
- product_signed_in: the product pages again, each request carrying the session cookie of
                  a shopper signed in at that mall.

Pages are served from the page cache (storefront/web/page_cache.py) as in production: the
warm-up fills it, as real traffic would.

For each: requests/s, p50 and p99 latency (ms), non-2xx responses and socket errors, and
requests/s as a fraction of the bare view's. Targets (issue 12): anonymous product detail,
home and catalogue API at least 0.8 of the bare view's requests/s with p99 at most 1.5x the
bare view's; the signed-in product page at least 0.5 of the bare view; no non-2xx. A page
whose route does not exist yet is reported as skipped.

Usage: .venv/bin/python benchmarks/storefront.py [--tenants 100] [--products 1000]
       [--duration 30] [--connections 50]
Needs wrk (`apt-get install -y wrk`). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import requests
from _common import (
    PROJECT_DIR,
    CpuMonitor,
    add_tenants,
    boot_django,
    free_port,
    postmaster_pid,
    run_wrk,
    start_gunicorn,
    stop_gunicorn,
)
from _common import stop_services as stop_embedded_services

BENCH_DATA = PROJECT_DIR / ".data" / "bench-storefront"
DETAIL_SAMPLES_PER_MALL = 20
TARGET_RATIO = 0.8
TARGET_P99_VS_BARE = 1.5
TARGET_SIGNED_IN_RATIO = 0.5

def _boot(port: int) -> None:
    boot_django(BENCH_DATA, {
        "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "PLATFORM_SCHEME": "http",
        "SECURE_SSL_REDIRECT": "0",
        "PLATFORM_DOMAIN": f"localhost:{port}",
        "ALLOWED_HOSTS": "localhost,.localhost,127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "TENANT_SPARE_POOL_SIZE": "0",
    })


def _mall_slug(index: int) -> str:
    return f"shop-{index + 1:03d}"


def _fill_catalogue(merchant, products: int, rng: random.Random) -> list[int]:
    """One category, `products` products with one SKU each, on shelf; returns product ids."""
    from django.db import connection, transaction

    from storefront.catalog.models import Category, Product, Sku

    connection.set_tenant(merchant)
    try:
        with transaction.atomic():
            category = Category.objects.create(name="全部商品", sort_weight=10)
            rows = []
            for n in range(products):
                price = rng.randrange(990, 99900, 10)
                kind = rng.choice(["女装", "男鞋", "零食", "茶叶", "家居"])
                title = f"{merchant.slug} 商品 {n:04d} {kind}"
                rows.append(Product(
                    category=category, title=title, subtitle="包邮 · 7天无理由退换",
                    description_html="<p>" + "精选好物，产地直发。" * 20 + "</p>",
                    is_on_shelf=True, base_price_fen=price, min_price_fen=price,
                    max_price_fen=price, sales_count=rng.randrange(0, 50_000),
                    sort_weight=rng.randrange(0, 100), is_recommended=rng.random() < 0.05,
                    search_text=title.lower(),
                ))
            created = Product.objects.bulk_create(rows, batch_size=1000)
            Sku.objects.bulk_create(
                [
                    Sku(product=product, spec_key="", spec_label="",
                        price_fen=product.min_price_fen,
                        market_price_fen=product.min_price_fen * 13 // 10,
                        stock=rng.randrange(0, 1000), sales_count=product.sales_count)
                    for product in created
                ],
                batch_size=1000,
            )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE catalog_product; ANALYZE catalog_sku")
    finally:
        connection.set_schema_to_public()
    return [product.pk for product in created]


def _signed_in_cookie(merchant) -> str:
    """The session cookie of a shopper signed in at `merchant`'s mall, made as a sign-in
    would (a row of the mall's session table holding the shopper's id)."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection

    from storefront.shoppers.models import Shopper
    from storefront.web.shopper_session import SESSION_KEY

    connection.set_tenant(merchant)
    try:
        shopper = Shopper.objects.create(phone="13800000000", nickname="bench")
        session = SessionStore()
        session[SESSION_KEY] = shopper.pk
        session.save()
        return f"sessionid={session.session_key}"
    finally:
        connection.set_schema_to_public()


def _prime(port: int, load: list[tuple[str, str, dict[str, str], str]]) -> None:
    """Request every distinct page once, as the shoppers before this minute would have:
    the load then measures the steady state of popular pages (in the page cache), not the
    first visits of a cold start, which wrk's short warm-up would only partly cover."""
    with requests.Session() as session:
        for _method, path, headers, _body in dict.fromkeys(
            (method, path, tuple(headers.items()), body) for method, path, headers, body in load
        ):
            session.get(f"http://127.0.0.1:{port}{path}", headers=dict(headers), timeout=30)


def _route_exists(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path.split("?")[0], urlconf="benchmarks.bench_urls")
    except Resolver404:
        return False
    return True


def _probe(port: int, host: str, path: str) -> tuple[int, int]:
    """(status, body bytes) of one request, before loading a page."""
    response = requests.get(f"http://127.0.0.1:{port}{path}", headers={"Host": host}, timeout=30)
    return response.status_code, len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=30, help="seconds of load per page")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    port = free_port()
    setup_started = time.perf_counter()
    _boot(port)
    from tenants.models import Merchant

    created = 0
    while created < args.tenants:
        created = add_tenants(min(created + 10, args.tenants), created, slug_for=_mall_slug)
        print(f"{created}/{args.tenants} malls provisioned "
              f"({time.perf_counter() - setup_started:.0f}s)", flush=True)
    rng = random.Random(args.seed)
    samples: dict[str, list[int]] = {}
    merchants = list(Merchant.objects.filter(slug__startswith="shop-").order_by("slug"))
    for number, merchant in enumerate(merchants, start=1):
        product_ids = _fill_catalogue(merchant, args.products, rng)
        samples[merchant.slug] = rng.sample(
            product_ids, min(DETAIL_SAMPLES_PER_MALL, len(product_ids))
        )
        if number % 10 == 0 or number == len(merchants):
            print(f"{number}/{len(merchants)} catalogues of {args.products} products filled "
                  f"({time.perf_counter() - setup_started:.0f}s)", flush=True)
    cookies = {merchant.slug: _signed_in_cookie(merchant) for merchant in merchants}
    setup_seconds = time.perf_counter() - setup_started

    hosts = {slug: f"{slug}.localhost:{port}" for slug in samples}
    slugs = list(samples)
    pages: dict[str, list[tuple[str, str]]] = {
        "bare": [(hosts[slug], "/bench/bare") for slug in slugs],
        # interleaved: consecutive requests go to different malls
        "product_detail": [
            (hosts[slug], f"/products/{samples[slug][i]}/")
            for i in range(DETAIL_SAMPLES_PER_MALL) for slug in slugs
            if i < len(samples[slug])
        ],
        "home": [(hosts[slug], "/") for slug in slugs],
        "product_list": [(hosts[slug], "/api/v1/products/?sort=sales") for slug in slugs],
    }
    pages["product_signed_in"] = pages["product_detail"]
    # the bare view once more at the end: the machine is shared, its load drifts
    pages["bare_again"] = pages["bare"]
    slug_of_host = {host: slug for slug, host in hosts.items()}
    loads = {
        name: [
            ("GET", path,
             {"Host": host, "Cookie": cookies[slug_of_host[host]]}
             if name == "product_signed_in" else {"Host": host}, "")
            for host, path in targets
        ]
        for name, targets in pages.items()
    }

    results: dict[str, dict | str] = {}
    web = start_gunicorn(port, app="control_plane.wsgi:application",
                         extra_args=("--graceful-timeout", "5"))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, targets in pages.items():
                path = targets[0][1]
                if not _route_exists(path):
                    results[name] = f"skipped: no route for {path.split('?')[0]} yet"
                    print(f"{name}: {results[name]}", flush=True)
                    continue
                status, size = _probe(port, *targets[0])
                if status != 200:
                    results[name] = f"skipped: {path} answered {status}"
                    print(f"{name}: {results[name]}", flush=True)
                    continue
                print(f"{name}: {targets[0][0]}{path} answers 200, {size} bytes", flush=True)
                _prime(port, loads[name])
                run_wrk(port, loads[name], duration=args.warmup, connections=args.connections,
                        threads=args.wrk_threads, workdir=Path(tmp))
                with CpuMonitor(postmaster_pid(BENCH_DATA)) as monitor:
                    results[name] = run_wrk(
                        port, loads[name], duration=args.duration,
                        connections=args.connections, threads=args.wrk_threads,
                        workdir=Path(tmp),
                    )
                cores = monitor.figures["cpu_cores"]
                results[name]["cpu_cores"] = cores
                # robust to a shared machine: what one request costs the web workers
                results[name]["gunicorn_cpu_ms_per_request"] = (
                    round(1000 * cores.get("gunicorn", 0) / results[name]["ok_per_s"], 2)
                    if results[name]["ok_per_s"] else None
                )
                print(name, json.dumps(results[name]), flush=True)
    finally:
        stop_gunicorn(web)
        stop_embedded_services()

    bare_runs = [
        results[name]["ok_per_s"] for name in ("bare", "bare_again")
        if isinstance(results.get(name), dict) and results[name]["ok_per_s"]
    ]
    bare_ok = sum(bare_runs) / len(bare_runs) if bare_runs else None
    bare_p99s = [
        results[name]["p99_ms"] for name in ("bare", "bare_again")
        if isinstance(results.get(name), dict)
    ]
    bare_p99 = sum(bare_p99s) / len(bare_p99s) if bare_p99s else None
    verdicts = []
    for name in ("product_detail", "home", "product_list", "product_signed_in"):
        figures = results[name]
        if not isinstance(figures, dict):
            continue
        figures["ratio_to_bare"] = round(figures["ok_per_s"] / bare_ok, 3) if bare_ok else None
        figures["p99_vs_bare"] = round(figures["p99_ms"] / bare_p99, 2) if bare_p99 else None
        if name == "product_signed_in":
            meets = (figures["ratio_to_bare"] or 0) >= TARGET_SIGNED_IN_RATIO
        else:
            meets = ((figures["ratio_to_bare"] or 0) >= TARGET_RATIO
                     and (figures["p99_vs_bare"] or 99) <= TARGET_P99_VS_BARE)
        figures["meets_target"] = bool(meets and figures["non_2xx"] == 0)
        verdicts.append(figures["meets_target"])

    def figure(name: str, key: str):
        return results[name].get(key) if isinstance(results.get(name), dict) else None
    summary = {
        "benchmark": "storefront",
        "tenants": args.tenants,
        "products_per_tenant": args.products,
        "connections": args.connections,
        "duration_s": args.duration,
        "gunicorn": "2 workers x 4 threads, DEBUG off",
        "cpu_count": os.cpu_count(),
        "setup_s": round(setup_seconds, 1),
        "pages": results,
        "bare_ok_per_s_reference": round(bare_ok, 1) if bare_ok else None,
        "bare_p99_ms_reference": round(bare_p99, 1) if bare_p99 else None,
        "target_ratio_to_bare": TARGET_RATIO,
        "target_p99_vs_bare": TARGET_P99_VS_BARE,
        "target_signed_in_ratio": TARGET_SIGNED_IN_RATIO,
        "product_anon_ratio": figure("product_detail", "ratio_to_bare"),
        "product_anon_p99_vs_bare": figure("product_detail", "p99_vs_bare"),
        "home_anon_ratio": figure("home", "ratio_to_bare"),
        "api_anon_ratio": figure("product_list", "ratio_to_bare"),
        "product_signed_in_ratio": figure("product_signed_in", "ratio_to_bare"),
        "non_2xx": sum(
            figures["non_2xx"] + sum(figures.get("socket_errors", {}).values())
            for figures in results.values() if isinstance(figures, dict)
        ),
        # None: no catalogue page could be measured yet
        "meets_target": all(verdicts) if verdicts else None,
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
