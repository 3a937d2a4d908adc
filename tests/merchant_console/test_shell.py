"""The console's shell: the mall, its plan and the person's role on every page, the billing
banner while the mall is past due or paused, sign-in landing on the console home, and the
front-end packages served from npm's install (not from the repository)."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.db import connection

from tenants.models import Merchant
from tests.conftest import OWNER_PASSWORD, host_client


def test_the_shell_names_the_mall_plan_and_role(mall, staff_client):
    page = staff_client("finance").get("/console/").content.decode()
    assert mall.name in page and mall.plan.name in page
    assert "Finance" in page or "财务" in page
    assert "/static/vendor/htmx/htmx.min.js" in page
    assert 'id="billing-banner"' not in page


@pytest.mark.parametrize("status", ["past_due", "suspended"])
def test_a_mall_behind_on_billing_shows_the_banner_on_every_page(mall, staff_client, status):
    Merchant.objects.filter(pk=mall.pk).update(status=status)
    connection.set_tenant(Merchant.objects.get(pk=mall.pk))
    owner = staff_client("owner")
    for path in ("/console/", "/console/settings/staff/", "/console/settings/audit/"):
        page = owner.get(path).content.decode()
        assert 'id="billing-banner"' in page, path


@pytest.mark.parametrize("entry", ["/console/login/", "/console/login/?next=/console/"])
def test_signing_in_lands_on_the_console_home(mall, entry):
    client = host_client(mall)
    response = client.post(entry, {"username": "owner@example.com",
                                   "password": OWNER_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/console/"
    assert client.get("/console/").status_code == 200


def test_a_shopper_or_a_stranger_is_not_let_in(mall):
    assert host_client(mall).get("/console/").status_code == 302


@pytest.mark.parametrize("asset", ["vendor/htmx/htmx.min.js", "vendor/echarts/echarts.min.js",
                                   "vendor/sortablejs/Sortable.min.js"])
def test_front_end_packages_come_from_the_npm_install(asset):
    found = finders.find(asset)
    assert found and "/node_modules/" in found
