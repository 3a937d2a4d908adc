"""Counting then inserting, raced for real: two creations for the last product slot or
staff seat, each on its own connection with committed data. The second one waits on the
per-mall limit lock that the first holds until it commits, then sees the slot taken.
Without the lock both count the same free slot and both pass (the plan is exceeded)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from billing.models import Plan
from merchant_console.models import StaffInvitation
from merchant_console.roles import FINANCE
from merchant_console.staff import staff_invite
from storefront.catalog import services as catalog_services
from storefront.catalog.models import Product
from tenants import services as tenant_services
from tests.conftest import OWNER_PASSWORD, ensure_default_plan, move_to_plan
from tests.factories.catalog import CategoryFactory, ProductFactory
from tests.race import write_at

pytestmark = pytest.mark.usefixtures("committed_cleanup")


@pytest.fixture
def race_mall():
    """A committed mall on a plan of 2 products and 2 staff seats, with 1 product and the
    owner: one slot of each is left."""
    ensure_default_plan()
    plan = Plan.objects.create(code="race-small", name="Race", monthly_price_fen=100,
                               max_products=2, max_staff=2, max_distribution_tiers=2)
    merchant = tenant_services.merchant_signup(
        name="Limits Mall", slug="limits-race", owner_email="o@example.com",
        password=OWNER_PASSWORD,
    ).merchant
    move_to_plan(merchant, plan)
    connection.set_tenant(merchant)
    category = CategoryFactory()
    ProductFactory(category=category)
    connection.set_schema_to_public()
    yield merchant, category
    connection.set_schema_to_public()


def test_two_creations_cannot_pass_the_product_limit_by_one(race_mall):
    merchant, category = race_mall
    connection.set_tenant(merchant)

    def create(title: str):
        return catalog_services.product_create(title=title, category_id=category.pk,
                                               base_price_fen=1000)

    # The rival starts once the first creation has inserted its row, before it commits.
    with write_at("storefront.catalog.services._matrix_sync", lambda: create("B"),
                  tenant=merchant) as rival:
        create("A")

    assert rival.blocked  # it waited for the first creation's lock
    assert rival.outcome.label == "plan_limit"
    titles = set(Product.objects.values_list("title", flat=True))
    assert len(titles) == 2 and "A" in titles and "B" not in titles


def test_two_invitations_cannot_take_the_last_staff_seat(race_mall):
    merchant, _category = race_mall
    connection.set_tenant(merchant)
    owner = get_user_model().objects.get(is_superuser=True)

    def invite(email: str):
        return staff_invite(by=owner, email=email, role=FINANCE, merchant=merchant,
                            accept_url_base="http://x/console/invitations/")

    # The rival starts once the first invitation is written, before it commits.
    with write_at("merchant_console.staff.audit_record", lambda: invite("b@example.com"),
                  tenant=merchant) as rival:
        invite("a@example.com")

    assert rival.blocked
    assert rival.outcome.label == "plan_limit"
    assert list(StaffInvitation.objects.values_list("email", flat=True)) == ["a@example.com"]
