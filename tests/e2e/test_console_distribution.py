"""The console's distribution area in a real browser: the owner edits the commission plan's
tier-1 rate and watches the preview change without a reload; a finance member approves a
statement waiting for review (built by the real settlement run) and sees it approved."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection

from merchant_console.models import AuditEntry
from merchant_console.roles import role_group
from storefront.distribution import plans, settlement
from storefront.distribution.commissions import SHANGHAI
from storefront.distribution.models import DistributionSettings, Statement
from storefront.orders.services import order_confirm_receipt, order_ship
from tests.conftest import OWNER_PASSWORD
from tests.distribution.conftest import make_chain, make_shopper, pay, place
from tests.e2e.conftest import live_mall
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("committed_cleanup")]

FINANCE_EMAIL = "cai@example.com"


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def console_mall(live_server, settings):
    """A committed mall on the live server: an active plan paying 10% / 5%, a chain of two
    whose October sale was settled into statements that wait for finance, and a finance
    member of staff."""
    base, merchant = live_mall(live_server, settings, name="Console Mall", slug="console-mall")
    connection.set_tenant(merchant)
    rules = DistributionSettings.current()
    rules.binding_mode = "permanent"
    rules.commission_hold_days = 0
    rules.statement_review_from_fen = 1  # every statement waits for finance
    rules.save()
    plan = plans.plan_activate(plan_id=plans.plan_create(
        {"name": "标准", "tiers": 2, "rates_bp": [1000, 500]}).pk)
    ShippingTemplateFactory(default_fee_fen=1000, free_above_fen=0)
    sku = SkuFactory(price_fen=9900, stock=10)
    _top, seller = make_chain(2)
    buyer = make_shopper()
    with time_machine.travel(at(2026, 10, 10), tick=False):
        order = pay(place(buyer, (sku, 1), referrer=seller))
        order_ship(order=order, staff_user_id=1, carrier="SF", tracking_number="SF1")
        order_confirm_receipt(order=order, shopper=buyer)
    settlement.commissions_release(now=at(2026, 10, 11))
    settlement.statements_generate(dt.date(2026, 10, 1), now=at(2026, 11, 2))
    statement = Statement.objects.get(distributor=seller)
    assert (statement.status, statement.net_fen) == ("in_review", 990)
    finance = get_user_model().objects.create_user(
        username=FINANCE_EMAIL, email=FINANCE_EMAIL, password=OWNER_PASSWORD, is_staff=True)
    finance.groups.set([role_group("finance")])
    connection.set_schema_to_public()
    yield base, merchant, plan, statement
    connection.set_schema_to_public()


def desk_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def sign_in(page, base: str, email: str, next_path: str) -> None:
    page.goto(f"{base}/console/login/?next={next_path}")
    page.fill("#id_username", email)
    page.fill("#id_password", OWNER_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def test_the_owner_edits_a_rate_and_the_preview_follows_without_a_reload(
        console_mall, browser):
    base, merchant, plan, _statement = console_mall
    context, page = desk_page(browser)
    try:
        path = f"/console/distribution/plans/{plan.pk}/"
        sign_in(page, base, "o@example.com", path)
        # The sample cart is ¥100 by default: tier 1 earns 10% of it.
        page.wait_for_function(
            "document.querySelector('#preview-tier-1')?.textContent === '¥10.00'")
        assert page.inner_text("#preview-total") == "¥15.00"
        page.evaluate("window.__notReloaded = true")

        page.fill("#rate-1", "12.5")
        page.wait_for_function(
            "document.querySelector('#preview-tier-1')?.textContent === '¥12.50'")
        assert page.inner_text("#preview-total") == "¥17.50"
        assert page.evaluate("window.__notReloaded") is True

        # Over the mall's 30% cap: the error shows by the rates, still without a reload.
        page.fill("#rate-1", "40")
        page.wait_for_selector("#errors-rates_bp .error")
        assert "commission cap" in page.inner_text("#errors-rates_bp")
        assert page.locator("#preview-invalid").is_visible()

        page.fill("#rate-1", "12")
        page.wait_for_function(
            "document.querySelector('#preview-tier-1')?.textContent === '¥12.00'")
        assert page.inner_text("#errors-rates_bp").strip() == ""
        assert page.evaluate("window.__notReloaded") is True

        # Saved as a new draft, then activated.
        page.click("#save-new")
        page.wait_for_selector("#activate")
        page.click("#activate")
        page.wait_for_url("**/console/distribution/plans/")
        connection.set_tenant(merchant)
        active = plans.active_plan()
        assert (active.rates_bp, active.version) == ([1200, 500], plan.version + 1)
        assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
            "plan.create", "plan.activate"]
    finally:
        connection.set_schema_to_public()
        context.close()


def test_finance_approves_a_statement_waiting_for_review(console_mall, browser):
    base, merchant, _plan, statement = console_mall
    context, page = desk_page(browser)
    try:
        sign_in(page, base, FINANCE_EMAIL, "/console/distribution/statements/")
        page.click("#review-queue")
        page.wait_for_selector(f"#statement-{statement.pk}")
        page.click(f"#statement-{statement.pk} td a")
        page.wait_for_selector("#approve-statement")
        assert page.inner_text("#statement-status") == "Waiting for finance review"
        page.click("#approve-statement")
        page.wait_for_selector(".messages")
        assert page.inner_text("#statement-status") == "Approved, in the withdrawable balance"
        assert page.locator("#approve-statement").count() == 0
        connection.set_tenant(merchant)
        statement.refresh_from_db()
        assert statement.status == "approved"
        [entry] = AuditEntry.objects.all()
        assert (entry.action, entry.actor_email) == ("statement.approve", FINANCE_EMAIL)
    finally:
        connection.set_schema_to_public()
        context.close()
