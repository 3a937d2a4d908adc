"""The owner changes the mall's theme colour in Console → Settings, and the mall a shopper
opens is drawn in it."""

import pytest

from tests.conftest import OWNER_PASSWORD
from tests.e2e.conftest import live_mall

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("committed_cleanup")]


@pytest.fixture
def console_mall(live_server, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    base, _ = live_mall(live_server, settings, name="Colour Mall", slug="colour-mall")
    return base


def test_the_owner_changes_the_theme_colour_and_the_mall_shows_it(console_mall, browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(console_mall + "/")
        brand = "getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()"
        assert page.evaluate(brand) == "#07c160"

        page.goto(console_mall + "/console/login/")
        page.fill("input[name=username]", "o@example.com")
        page.fill("input[name=password]", OWNER_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/")
        page.click("a[data-area=settings]")
        page.wait_for_url("**/console/settings/")
        page.fill("#id_theme_colour", "#ff5500")
        page.fill("#id_name", "橙色小铺")
        page.click("#save-profile")
        page.wait_for_selector(".messages li")

        shop = context.new_page()
        shop.goto(console_mall + "/")
        assert shop.evaluate(brand) == "#ff5500"
        assert "橙色小铺" in shop.inner_text("header.mall-bar")
        active_tab = shop.locator(".tabbar a.active").first
        assert active_tab.evaluate("a => getComputedStyle(a).color") == "rgb(255, 85, 0)"
    finally:
        context.close()
