"""Real-browser tests: Debian's Chromium driven by Playwright (never its own download).

Skipped with a clear reason when /usr/bin/chromium is missing; `.ci/run` installs it, so
in CI they always run. `*.localhost` resolves to 127.0.0.1 in Chromium, so each mall's
host works against the live server with no DNS."""

from __future__ import annotations

import os
import shutil

import pytest

from tenants import services as tenant_services
from tests.conftest import OWNER_PASSWORD, ensure_default_plan

# The WeChat simulator of the payment tests, so a shopper can pay in the browser too.
from tests.payments.conftest import sub_merchant, wechat_settings, wechat_sim  # noqa: F401

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--no-first-run",
    "--disable-sync", "--disable-quic",
]

# Playwright runs its own event loop in a thread; Django's async-safety check would
# otherwise refuse the ORM calls the test makes between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser):
    """A phone-sized page (iPhone 13 viewport, a mobile Safari user agent)."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
        has_touch=True, locale="zh-CN",
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def live_platform(live_server, settings) -> str:
    """Point the platform's host settings at the live server, so the platform answers at
    http://localhost:<port> and each mall at http://<slug>.localhost:<port>. Returns the
    port."""
    port = live_server.url.rsplit(":", 1)[1]
    settings.PLATFORM_DOMAIN = f"localhost:{port}"
    settings.PLATFORM_SCHEME = "http"
    return port


def live_mall(live_server, settings, *, name: str, slug: str,
              owner_email: str = "o@example.com"):
    """A mall signed up (committed) and served by the live server (`live_platform`).
    Returns (its base URL, the merchant)."""
    port = live_platform(live_server, settings)
    ensure_default_plan()
    merchant = tenant_services.merchant_signup(
        name=name, slug=slug, owner_email=owner_email, password=OWNER_PASSWORD
    ).merchant
    return f"http://{slug}.localhost:{port}", merchant
