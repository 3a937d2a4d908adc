"""Where the storefront's hot paths spend their time: cProfile over the real request stack.

Sets up its own embedded PostgreSQL and Redis under .data/bench-profile (wiped first), one
mall with `--products` goods (one SKU each), a signed-in shopper with an address and a cart,
then for each path runs `--requests` requests through Django's full middleware stack (the
test client's handler: host routing, sessions, CSRF, shopper, funnel...) under cProfile, and
`order_place` at the service level. Prints for each path the queries per request and the
functions with the most own time, and as its last line one JSON object: milliseconds of CPU
per request (profiler overhead included, so compare paths with each other, not with wrk's
figures) and queries per request.

    .venv/bin/python benchmarks/profile_hot_paths.py [--requests 300] [--top 12]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import secrets
import time

from _common import PROJECT_DIR, add_tenants, boot_django, stop_services

BENCH_DATA = PROJECT_DIR / ".data" / "bench-profile"
# Product pages rotate over this many goods, as storefront.py's load does (20 per mall):
# after the warm-up they are served from the page cache, as popular goods are.
HOT_PRODUCTS = 20
WARM_ROUNDS = HOT_PRODUCTS


def _set_up(products: int):
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection

    from storefront.catalog.models import Category, Product, Sku
    from storefront.orders.cart import cart_add, cart_get_or_create
    from storefront.orders.models import ShippingTemplate
    from storefront.shoppers.models import Address, Shopper
    from storefront.web.shopper_session import SESSION_KEY
    from tenants.models import Merchant

    add_tenants(1, 0, slug_for=lambda _n: "profiled")
    merchant = Merchant.objects.get(slug="profiled")
    connection.set_tenant(merchant)
    category = Category.objects.create(name="全部商品")
    created = Product.objects.bulk_create([
        Product(category=category, title=f"商品 {n:04d}", subtitle="包邮",
                description_html="<p>" + "精选好物。" * 40 + "</p>", is_on_shelf=True,
                base_price_fen=1990 + n, min_price_fen=1990 + n, max_price_fen=1990 + n,
                sales_count=n, is_recommended=n % 10 == 0, search_text=f"商品 {n:04d}")
        for n in range(products)
    ])
    skus = Sku.objects.bulk_create([
        Sku(product=p, spec_key="", spec_label="", price_fen=p.min_price_fen,
            stock=10**6) for p in created
    ])
    ShippingTemplate.objects.create(name="包邮", default_fee_fen=0, free_above_fen=0)
    shopper = Shopper.objects.create(phone="13800000000", nickname="profiled")
    address = Address.objects.create(shopper=shopper, recipient="张三", phone="13800001234",
                                     province="浙江", city="杭州", district="西湖区",
                                     detail="文三路 100 号")
    cart = cart_get_or_create(shopper=shopper, session_key=None)
    for sku in skus[:3]:
        cart_add(cart=cart, sku_id=sku.pk, quantity=1)
    session = SessionStore()
    session[SESSION_KEY] = shopper.pk
    session.save()
    return merchant, created, skus, shopper, address, session.session_key


def _profile(label: str, run, count: int, top: int, sort: str = "tottime") -> dict:
    from django.db import connection

    statements = []

    def counted(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    for n in range(WARM_ROUNDS):  # imports, templates, the page cache
        run(n)
    with connection.execute_wrapper(counted):
        run(1)
    profiler = cProfile.Profile()
    started = time.process_time()
    profiler.enable()
    for n in range(count):
        run(n)
    profiler.disable()
    cpu_ms = 1000 * (time.process_time() - started) / count
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
    print(f"\n=== {label}: {cpu_ms:.2f} ms CPU per request, {len(statements)} queries ===")
    for line in out.getvalue().splitlines():
        if line.strip() and (line.lstrip()[0].isdigit() or "ncalls" in line):
            print(line[:160])
    return {"cpu_ms": round(cpu_ms, 2), "queries": len(statements)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"],
                        help="own time (what to optimise) or cumulative (who calls it)")
    args = parser.parse_args()
    boot_django(BENCH_DATA, {
        "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings", "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40), "PLATFORM_SCHEME": "http",
        "SECURE_SSL_REDIRECT": "0", "PLATFORM_DOMAIN": "localhost:8000",
        "ALLOWED_HOSTS": "localhost,.localhost,testserver", "LOG_LEVEL": "WARNING",
        "TENANT_SPARE_POOL_SIZE": "0",
    })
    from django.db import connection
    from django.test import Client

    from storefront.orders.services import CheckoutItem, order_place

    try:
        merchant, products, skus, shopper, address, session_key = _set_up(args.products)
        host = "profiled.localhost"
        anonymous = Client(HTTP_HOST=host)
        signed_in = Client(HTTP_HOST=host)
        signed_in.cookies["sessionid"] = session_key
        connection.set_schema_to_public()

        def page(client, path):
            def run(n):
                response = client.get(path(n))
                assert response.status_code == 200, (path(n), response.status_code)
            return run

        def product_path(n):
            return f"/products/{products[n % HOT_PRODUCTS].pk}/"

        results = {
            "bare": _profile("bare view", page(anonymous, lambda n: "/bench/bare"),
                             args.requests, args.top, args.sort),
            "product_anon": _profile("product page, anonymous", page(anonymous, product_path),
                                     args.requests, args.top, args.sort),
            "product_signed_in": _profile("product page, signed in",
                                          page(signed_in, product_path), args.requests,
                                          args.top, args.sort),
            "home_anon": _profile("home, anonymous", page(anonymous, lambda n: "/"),
                                  args.requests, args.top, args.sort),
            "api_list_anon": _profile(
                "product list API", page(anonymous, lambda n: "/api/v1/products/?sort=sales"),
                args.requests, args.top, args.sort),
            "cart": _profile("cart, signed in", page(signed_in, lambda n: "/cart/"),
                             args.requests, args.top, args.sort),
        }
        connection.set_tenant(merchant)

        def place(n):
            order_place(shopper=shopper, items=[CheckoutItem(sku_id=skus[n % 50].pk,
                                                             quantity=1)],
                        address_id=address.pk, clear_cart=False)

        results["order_place"] = _profile("order_place (service)", place, args.requests,
                                          args.top, args.sort)
    finally:
        stop_services()
    print(json.dumps({"benchmark": "profile_hot_paths", "requests": args.requests,
                      "paths": results}))


if __name__ == "__main__":
    main()
