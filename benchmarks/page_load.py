"""First paint on a phone: Largest Contentful Paint and bytes transferred of the shopper's
home, a category, a product and the cart, on emulated Fast 3G and a mid-range phone's CPU.

Setup: one mall `demo` with the demo catalogue (tenants.demo, the same code `make run`
seeds with), whose pictures are replaced by photo-like 1600×1600 JPEGs (two per product)
and a 1500×750 banner, all through the upload services (`--pictures demo` keeps the
seed's own), static files collected as the Dockerfile
does (hashed names, gzip and Brotli), served by gunicorn as `make run` runs it with DEBUG
off; the mall's uploads by the dev media view with production's cache header
(benchmarks.bench_urls). A signed-in shopper with one item in the cart (a session in the
mall's own store, as checkout_contention.py makes them).

Debian's Chromium through Playwright; over the DevTools protocol, Lighthouse's mobile
settings: Network.emulateNetworkConditions with 562.5 ms latency, 1.6 Mbps × 0.9 down and
750 kbps × 0.9 up, Emulation.setCPUThrottlingRate 4, a 412×823 phone viewport at 1.75x.
Per page: cold (a new browser context, empty cache) then warm (the same page visited again
in that context); LCP from a PerformanceObserver of largest-contentful-paint, bytes as the
sum of Network.loadingFinished encodedDataLength. Each figure is the median of --runs runs.

    .venv/bin/python benchmarks/page_load.py   # [--runs 3] [--screenshots DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    PROJECT_DIR,
    add_tenants,
    boot_django,
    free_port,
    start_gunicorn,
    stop_gunicorn,
    stop_services,
)

BENCH_DATA = PROJECT_DIR / ".data" / "bench-page-load"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--no-first-run",
    "--disable-sync", "--disable-quic",
]
# Lighthouse's mobile throttling (its constants: 150 ms RTT × 3.75, 1.6 Mbps × 0.9).
FAST_3G = {
    "offline": False,
    "latency": 562.5,
    "downloadThroughput": 1.6 * 1024 * 1024 / 8 * 0.9,
    "uploadThroughput": 750 * 1024 / 8 * 0.9,
}
CPU_SLOWDOWN = 4
PHONE = {
    "viewport": {"width": 412, "height": 823}, "device_scale_factor": 1.75,
    "is_mobile": True, "has_touch": True, "locale": "zh-CN",
    "user_agent": "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
}
TARGETS = {"lcp_cold_ms": 2500, "lcp_warm_ms": 1000, "kb_cold_product": 150}

# The latest largest-contentful-paint entry once the page has been quiet for a moment.
LCP_SCRIPT = """() => new Promise(resolve => {
  let last = 0;
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) last = entry.startTime;
  }).observe({type: "largest-contentful-paint", buffered: true});
  setTimeout(() => resolve(last), 500);
})"""


def _photo(seed: int, size: tuple[int, int]):
    """A photo-like JPEG as a merchant uploads it (about 0.3-0.5 MB at 1600×1600): soft
    gradients and shapes with sensor noise, so it compresses like a product shot rather than
    a flat colour. Drawn here, nothing binary is committed."""
    import random
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    width, height = size
    base = Image.linear_gradient("L").resize(size).rotate(rng.randrange(360), expand=False)
    tint = tuple(rng.randrange(120, 255) for _ in range(3))
    image = Image.merge("RGB", [base.point(lambda v, c=c: v * c // 255) for c in tint])
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(width // 12, width // 3)
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(
            (x - r, y - r // 2, x + r, y + r // 2), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(width / 200))
    noise = Image.effect_noise(size, 40).convert("RGB")
    image = Image.blend(image, noise, 0.08)
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return SimpleUploadedFile(f"photo-{seed}.jpg", buffer.getvalue(), content_type="image/jpeg")


def _photos_instead(products) -> dict:
    """Each product's demo picture replaced by two photo-like ones, and a banner on the
    home page, all through the upload services; returns the originals' sizes."""
    from django.core.files.storage import default_storage

    from storefront.catalog import services as catalog

    sizes = {}
    for index, product in enumerate(products):
        for image in list(product.images.all()):
            catalog.product_image_delete(product_id=product.pk, image_id=image.pk)
        for extra in range(2):
            image = catalog.product_image_add(
                product_id=product.pk, upload=_photo(index * 10 + extra, (1600, 1600)))
            sizes.setdefault(product.pk, default_storage.size(image.image.name))
    catalog.banner_create(title="新品上市", image=_photo(99, (1500, 750)),
                          product_id=products[0].pk, sort_weight=10)
    return sizes


def _setup(port: int, pictures: str) -> dict:
    boot_django(BENCH_DATA, {
        "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "PLATFORM_SCHEME": "http",
        "PLATFORM_DOMAIN": f"localhost:{port}",
        "ALLOWED_HOSTS": "localhost,.localhost,127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "TENANT_SPARE_POOL_SIZE": "0",
        "STATIC_ROOT": str(BENCH_DATA / "static"),
        "MEDIA_ROOT": str(BENCH_DATA / "media"),
    })
    from importlib import import_module

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from storefront.catalog.models import Category, Product
    from storefront.orders import cart as carts
    from storefront.shoppers.models import Shopper
    from storefront.web.shopper_session import SESSION_KEY
    from tenants.demo import demo_catalogue_seed
    from tenants.models import Merchant

    started = time.monotonic()
    call_command("collectstatic", "--noinput", verbosity=0)
    print(f"collectstatic: {time.monotonic() - started:.1f} s", flush=True)
    add_tenants(1, 0, slug_for=lambda _: "demo")
    merchant = Merchant.objects.get(slug="demo")
    connection.set_tenant(merchant)
    try:
        demo_catalogue_seed()
        products = list(Product.objects.filter(is_on_shelf=True).order_by("-sort_weight"))
        original_bytes = _photos_instead(products) if pictures == "photo" else {}
        product = products[0]
        category = Category.objects.get(pk=product.category_id)
        shopper = Shopper.objects.create(phone="13900000001", nickname="bench")
        cart = carts.cart_get_or_create(shopper=shopper, session_key=None)
        carts.cart_add(cart=cart, sku_id=product.skus.order_by("id").first().pk, quantity=1)
        session = import_module(settings.SESSION_ENGINE).SessionStore()
        session[SESSION_KEY] = shopper.pk
        session.create()
        return {"product": product.pk, "category": category.pk,
                "session": session.session_key,
                "original_cover_kb": round(original_bytes.get(product.pk, 0) / 1024, 1)}
    finally:
        connection.set_schema_to_public()


def _measure(browser, base: str, path: str, session_key: str | None,
             screenshot: Path | None = None) -> dict:
    """One cold and one warm visit of `path` in a fresh context (and a PNG of the page as
    the phone shows it, if `screenshot` names one)."""
    context = browser.new_context(**PHONE)
    if session_key:
        context.add_cookies([{"name": "sessionid", "value": session_key,
                              "url": base}])
    page = context.new_page()
    page.set_default_timeout(60000)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    cdp.send("Network.emulateNetworkConditions", FAST_3G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    transferred: dict[str, float] = {}
    kinds: dict[str, str] = {}
    cdp.on("Network.responseReceived",
           lambda e: kinds.__setitem__(e["requestId"], e.get("type", "Other")))
    cdp.on("Network.loadingFinished",
           lambda e: transferred.__setitem__(e["requestId"], e["encodedDataLength"]))
    figures = {}
    try:
        for visit in ("cold", "warm"):
            transferred.clear()
            kinds.clear()
            response = page.goto(base + path, wait_until="load")
            if response is None or response.status != 200:
                raise RuntimeError(f"{path}: {response.status if response else 'no answer'}")
            page.wait_for_load_state("networkidle")
            lcp = page.evaluate(LCP_SCRIPT)
            by_kind: dict[str, float] = {}
            for request_id, size in transferred.items():
                kind = kinds.get(request_id, "Other")
                by_kind[kind] = by_kind.get(kind, 0) + size
            figures[visit] = {
                "lcp_ms": round(lcp),
                "kb": round(sum(transferred.values()) / 1024, 1),
                "requests": len(transferred),
                "kb_by_type": {k: round(v / 1024, 1) for k, v in sorted(by_kind.items())},
            }
        if screenshot is not None:
            page.screenshot(path=str(screenshot))
    finally:
        context.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pictures", choices=("photo", "demo"), default="photo",
                        help="photo-like uploads (default) or the demo seed's own pictures")
    parser.add_argument("--screenshots", type=Path, default=None,
                        help="a folder for a PNG of each page as the phone shows it")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        sys.exit("Debian chromium is not installed (apt-get install chromium)")
    port = free_port()
    ids = _setup(port, args.pictures)
    base = f"http://demo.localhost:{port}"
    pages = {
        "home": ("/", None),
        "category": (f"/categories/{ids['category']}/", None),
        "product": (f"/products/{ids['product']}/", None),
        "cart": ("/cart/", ids["session"]),
    }
    web = start_gunicorn(port)
    results: dict[str, dict] = {}
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                # one unthrottled visit each, so no figure includes a first request's setup
                if args.screenshots:
                    args.screenshots.mkdir(parents=True, exist_ok=True)
                for name, (path, session) in pages.items():
                    shot = args.screenshots / f"{name}.png" if args.screenshots else None
                    _measure(browser, base, path, session, shot)
                for name, (path, session) in pages.items():
                    runs = [_measure(browser, base, path, session) for _ in range(args.runs)]
                    results[name] = runs
                    cold = [r["cold"]["lcp_ms"] for r in runs]
                    warm = [r["warm"]["lcp_ms"] for r in runs]
                    print(f"{name:9} LCP cold {cold} ms, warm {warm} ms; "
                          f"cold {runs[0]['cold']['kb']} KB {runs[0]['cold']['kb_by_type']}, "
                          f"warm {runs[0]['warm']['kb']} KB", flush=True)
            finally:
                browser.close()
    finally:
        stop_gunicorn(web)
        stop_services()

    out: dict = {}
    for name, runs in results.items():
        for visit in ("cold", "warm"):
            out[f"lcp_{visit}_ms_{name}"] = round(
                statistics.median(r[visit]["lcp_ms"] for r in runs))
            out[f"kb_{visit}_{name}"] = round(statistics.median(r[visit]["kb"] for r in runs), 1)
            out[f"requests_{visit}_{name}"] = runs[0][visit]["requests"]
        out[f"kb_by_type_cold_{name}"] = runs[0]["cold"]["kb_by_type"]
    # what the product page's first gallery picture weighed before renditions (the
    # original was linked as it was uploaded)
    out["kb_original_cover_product"] = ids["original_cover_kb"]
    out["pictures"] = args.pictures
    out["targets"] = TARGETS
    out["targets_met"] = {
        "lcp_cold_home": out["lcp_cold_ms_home"] <= TARGETS["lcp_cold_ms"],
        "lcp_cold_product": out["lcp_cold_ms_product"] <= TARGETS["lcp_cold_ms"],
        "lcp_warm_home": out["lcp_warm_ms_home"] <= TARGETS["lcp_warm_ms"],
        "lcp_warm_product": out["lcp_warm_ms_product"] <= TARGETS["lcp_warm_ms"],
        "kb_cold_product": out["kb_cold_product"] <= TARGETS["kb_cold_product"],
    }
    out["conditions"] = {"network": FAST_3G, "cpu_slowdown": CPU_SLOWDOWN,
                         "viewport": PHONE["viewport"], "dpr": PHONE["device_scale_factor"],
                         "runs": args.runs, "cpu_count": os.cpu_count()}
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
