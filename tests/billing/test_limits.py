"""Plan limits (billing/limits.py) enforced where products, staff, commission plans and
domains are made, with the upgrade link; a downgrade clamps the active commission plan and
stops serving custom domains; nothing is deleted."""

from __future__ import annotations

import pytest
import tablib
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django_tenants.utils import schema_context

from billing.limits import PlanLimitReached, plan_limits_enforce, plan_usage
from billing.models import Plan
from core.actors import Actor
from merchant_console.models import AuditEntry, StaffInvitation
from merchant_console.roles import FINANCE
from merchant_console.staff import staff_invite
from storefront.catalog import services as catalog_services
from storefront.catalog import transfer
from storefront.catalog.models import Product
from storefront.distribution import plans
from storefront.distribution.models import CommissionPlan, Level, PlanStatus
from tenants.domains import custom_domain_add
from tenants.models import Domain
from tests.conftest import ensure_pro_plan, host_client, move_to_plan
from tests.factories.catalog import CategoryFactory, ProductFactory

UPGRADE = "/console/settings/billing/"


def small_plan(**limits) -> Plan:
    """A plan like Starter: 2 tiers, no plugins, no domain; `limits` override."""
    fields = {"name": "Small", "monthly_price_fen": 9900, "max_products": 0, "max_staff": 0,
              "max_distribution_tiers": 2, "marketing_plugins": [], "custom_domain": False,
              "sort_order": 1, **limits}
    plan, _ = Plan.objects.update_or_create(code="small-test", defaults=fields)
    return plan


def _create_product(title: str = "Tea") -> Product:
    return catalog_services.product_create(
        title=title, category_id=CategoryFactory().pk, base_price_fen=1000)


# --- products --------------------------------------------------------------------------


def test_a_product_past_the_plan_s_limit_is_refused_with_the_upgrade_link(mall):
    move_to_plan(mall, small_plan(max_products=2))
    ProductFactory.create_batch(2)

    with pytest.raises(PlanLimitReached) as refused:
        _create_product()

    assert refused.value.code == "plan_limit" and refused.value.status == 409
    assert "allows 2 products" in refused.value.message
    assert "Upgrade" in refused.value.message
    assert refused.value.upgrade_url == UPGRADE
    assert Product.objects.count() == 2


def test_a_plan_without_a_product_limit_takes_no_lock_and_refuses_nothing(mall):
    move_to_plan(mall, small_plan(max_products=0))
    ProductFactory.create_batch(3)
    _create_product()
    assert Product.objects.count() == 4


def test_the_products_api_answers_409_with_the_upgrade_url(mall, staff_client):
    move_to_plan(mall, small_plan(max_products=1))
    ProductFactory()
    response = staff_client("owner").post("/api/v1/console/products/", {
        "title": "Tea", "category_id": CategoryFactory().pk, "base_price_fen": 1000,
    }, content_type="application/json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "plan_limit" and "allows 1 products" in body["message"]
    assert body["upgrade_url"] == UPGRADE
    assert Product.objects.count() == 1


def test_a_goods_import_past_the_limit_names_the_rows_with_the_upgrade_link(
        mall, staff_client):
    move_to_plan(mall, small_plan(max_products=1))
    category = CategoryFactory()
    rows = [["Tea", category.pk, "", "10", "1"], ["Mug", category.pk, "", "20", "1"]]
    content = tablib.Dataset(*rows, headers=["title", "category_id", "spec", "price",
                                             "stock"]).export("csv").encode()
    job = transfer.import_job_create(upload=SimpleUploadedFile("goods.csv", content),
                                     actor=Actor.system())
    job = transfer.import_job_run(job_id=job.pk)

    assert Product.objects.count() == 0  # the batch imports all or nothing
    assert [error["line"] for error in job.errors] == [3]
    assert "allows 1 products" in job.errors[0]["message"]
    assert job.errors[0]["upgrade_url"] == UPGRADE
    page = staff_client("owner").get(f"/console/goods/transfer/imports/{job.pk}/")
    assert f'href="{UPGRADE}" class="upgrade-link"' in page.content.decode()


# --- staff seats ---------------------------------------------------------------------------


def test_a_plan_with_unlimited_staff_seats_lets_the_owner_invite(mall):
    """max_staff 0 is unlimited (it used to refuse everyone on Pro)."""
    move_to_plan(mall, ensure_pro_plan())
    owner = get_user_model().objects.get(is_superuser=True)
    for number in range(5):
        staff_invite(by=owner, email=f"s{number}@example.com", role=FINANCE,
                     accept_url_base="http://x/console/invitations/", merchant=mall)
    assert StaffInvitation.objects.count() == 5


def test_the_staff_page_says_the_seats_are_taken_with_an_upgrade_link(mall, staff_client):
    move_to_plan(mall, small_plan(max_staff=1))  # the owner's seat only
    owner = staff_client("owner")
    page = owner.post("/console/settings/staff/action/",
                      {"action": "invite", "email": "a@example.com", "role": FINANCE},
                      follow=True).content.decode()
    assert "staff seats" in page
    assert f'href="{UPGRADE}" class="upgrade-link"' in page
    assert StaffInvitation.objects.count() == 0


def test_the_staff_api_answers_409_with_the_upgrade_url(mall, staff_client):
    move_to_plan(mall, small_plan(max_staff=1))
    response = staff_client("owner").post(
        "/api/v1/console/staff/invitations/", {"email": "a@example.com", "role": FINANCE},
        content_type="application/json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "plan_limit" and "staff seats" in body["message"]
    assert body["fields"] == {} and body["upgrade_url"] == UPGRADE


# --- commission plans ----------------------------------------------------------------------


def _full_plan_data(**fields) -> dict:
    return {"name": "全部", "tiers": 3, "rates_bp": [1000, 500, 200],
            "stage_bonuses": [{"monthly_sales_fen": 100_000, "bonus_bp": 100}],
            "team_reward": {"rate_bp": 100, "cap_fen": 500, "min_level_rank": 0,
                            "acknowledge_legal_risk": True}, **fields}


def test_a_commission_plan_beyond_the_plan_is_refused_field_by_field(mall):
    move_to_plan(mall, small_plan())
    Level.objects.create(name="普通", rank=0, rates_bp=[800, 300])

    with pytest.raises(PlanLimitReached) as refused:
        plans.plan_create(_full_plan_data())
    assert set(refused.value.fields) == {"tiers", "stage_bonuses", "team_reward"}
    assert "at most 2 tier(s)" in refused.value.fields["tiers"][0]

    with pytest.raises(PlanLimitReached) as by_level:
        plans.plan_create({"name": "按等级", "tiers": 2, "rate_source": "levels"})
    assert set(by_level.value.fields) == {"rate_source"}
    assert CommissionPlan.objects.count() == 0

    allowed = plans.plan_create({"name": "两级", "tiers": 2, "rates_bp": [1000, 500]})
    assert allowed.tiers == 2


def test_a_draft_saved_before_a_downgrade_cannot_be_activated(mall):
    move_to_plan(mall, ensure_pro_plan())
    draft = plans.plan_create({"name": "三级", "tiers": 3, "rates_bp": [1000, 500, 200]})
    move_to_plan(mall, small_plan())
    with pytest.raises(PlanLimitReached):
        plans.plan_activate(plan_id=draft.pk)
    draft.refresh_from_db()
    assert draft.status == PlanStatus.DRAFT


def test_the_editor_disables_what_the_plan_lacks_and_refuses_it_inline(mall, staff_client):
    move_to_plan(mall, small_plan())
    Plan.objects.filter(code="pro").update(name="Pro")
    owner = staff_client("owner")

    page = owner.get("/console/distribution/plans/new/").content.decode()
    assert '<fieldset id="stage-fieldset" disabled>' in page
    assert '<fieldset id="team-fieldset" disabled>' in page
    assert 'id="lacks-tiers"' in page and 'value="3" disabled' in page
    assert "Team rewards come with" in page and "Pro" in page

    refused = owner.post("/console/distribution/plans/new/", {
        "name": "三级", "tiers": "3", "rate_source": "static", "rate_1": "10", "rate_2": "5",
        "rate_3": "2", "payout_route": "transfer"})
    body = refused.content.decode()
    assert refused.status_code == 400
    tiers_errors = body.split('id="errors-tiers"')[1].split("</div>")[0]
    assert "at most 2 tier(s)" in tiers_errors
    assert 'id="plan-upgrade"' in body and f'href="{UPGRADE}"' in body
    assert CommissionPlan.objects.count() == 0


# --- a downgrade -----------------------------------------------------------------------------


def test_a_downgrade_clamps_the_active_plan_into_a_new_version_and_keeps_the_rest(mall):
    move_to_plan(mall, ensure_pro_plan())
    Level.objects.create(name="普通", rank=0, rates_bp=[800, 300, 100])
    full = plans.plan_activate(plan_id=plans.plan_create(_full_plan_data()).pk)
    ProductFactory.create_batch(3)
    move_to_plan(mall, small_plan(max_products=2))

    connection.set_schema_to_public()  # the webhook's context
    changes = plan_limits_enforce(mall)

    assert [change["action"] for change in changes] == ["plan.clamped"]
    with schema_context(mall.schema_name):
        full.refresh_from_db()
        active = plans.active_plan()
        assert full.status == PlanStatus.RETIRED and full.tiers == 3  # kept, not changed
        assert active.version == full.version + 1
        assert (active.tiers, active.rates_bp) == (2, [1000, 500])
        assert active.stage_bonuses == [] and active.team_reward == {}
        entry = AuditEntry.objects.get(action="plan.clamped")
        assert entry.area == "distribution" and "Small" in entry.detail["reason"]
        assert entry.detail["from_version"] == full.version
        assert Product.objects.count() == 3  # over the limit, none deleted
    assert plan_limits_enforce(mall) == []  # again: nothing to do

    connection.set_tenant(mall)
    with pytest.raises(PlanLimitReached):
        _create_product()


def test_a_plan_by_level_is_clamped_to_the_entry_level_s_static_rates(mall):
    move_to_plan(mall, ensure_pro_plan())
    Level.objects.create(name="普通", rank=0, rates_bp=[900, 400, 100])
    plans.plan_activate(plan_id=plans.plan_create(
        {"name": "按等级", "tiers": 3, "rate_source": "levels"}).pk)
    move_to_plan(mall, small_plan())

    plan_limits_enforce(mall)

    connection.set_tenant(mall)
    active = plans.active_plan()
    assert (active.rate_source, active.tiers, active.rates_bp) == ("static", 2, [900, 400])


# --- custom domains ------------------------------------------------------------------------


def _add_domain(owner, host: str):
    return owner.post("/console/settings/domains/", {"action": "add", "domain": host},
                      follow=True)


def test_the_custom_host_serves_the_mall_on_pro_and_stops_after_a_downgrade(
        mall, staff_client):
    move_to_plan(mall, ensure_pro_plan())
    owner = staff_client("owner")
    assert "shop.example.com" in _add_domain(owner, "Shop.Example.com").content.decode()
    row = Domain.objects.get(domain="shop.example.com")
    assert row.tenant_id == mall.pk and not row.is_primary
    assert AuditEntry.objects.filter(action="domain.add", target="shop.example.com").exists()

    custom = host_client("shop.example.com")
    assert custom.get("/").status_code == 200
    assert custom.get("/").wsgi_request.tenant.pk == mall.pk

    move_to_plan(mall, small_plan())
    plan_limits_enforce(mall)
    connection.set_tenant(mall)

    assert Domain.objects.filter(domain="shop.example.com").exists()  # kept
    assert custom.get("/").status_code == 404
    assert host_client(mall).get("/").status_code == 200
    page = owner.get("/console/settings/domains/").content.decode()
    assert "Kept, not serving" in page and f'href="{UPGRADE}"' in page
    refused = _add_domain(owner, "other.example.com")
    assert refused.status_code == 409 and "does not include a domain" in (
        refused.content.decode())
    assert not Domain.objects.filter(domain="other.example.com").exists()


@pytest.mark.parametrize(("typed", "says"), [
    ("http://shop.example.com/", "only the host name"),
    ("localhost", "is not a host name"),
    ("bad_host.example.com", "is not a host name"),
    ("shop.localhost", "are the platform"),
])
def test_a_domain_that_is_no_real_host_or_the_platform_s_is_refused(
        mall, staff_client, typed, says):
    move_to_plan(mall, ensure_pro_plan())
    response = _add_domain(staff_client("owner"), typed)
    assert response.status_code == 400 and says in response.content.decode()
    assert Domain.objects.filter(tenant=mall).count() == 1


def test_another_mall_s_domain_is_refused(mall, other_mall, staff_client):
    move_to_plan(other_mall, ensure_pro_plan())
    custom_domain_add(merchant=other_mall, domain="taken.example.com")
    connection.set_tenant(mall)
    move_to_plan(mall, ensure_pro_plan())
    response = _add_domain(staff_client("owner"), "taken.example.com")
    assert response.status_code == 409 and "used by another mall" in response.content.decode()


def test_the_domains_page_is_the_owner_s(mall, staff_client):
    assert staff_client("admin").get("/console/settings/domains/").status_code == 403


# --- usage ---------------------------------------------------------------------------------


def test_plan_usage_says_used_and_allowed_per_limit(mall):
    move_to_plan(mall, ensure_pro_plan())
    custom_domain_add(merchant=mall, domain="usage.example.com")
    Level.objects.create(name="普通", rank=0, rates_bp=[800, 300])
    plans.plan_activate(plan_id=plans.plan_create(
        {"name": "等级", "tiers": 2, "rate_source": "levels",
         "stage_bonuses": [{"monthly_sales_fen": 100_000, "bonus_bp": 100}]}).pk)
    ProductFactory.create_batch(2)
    move_to_plan(mall, small_plan(max_products=5, max_staff=3))

    connection.set_schema_to_public()
    usage = plan_usage(mall)

    assert usage["products"] == {"used": 2, "allowed": 5}
    assert usage["staff_seats"] == {"used": 1, "allowed": 3}
    assert usage["distribution_tiers"] == {"used": 2, "allowed": 2}
    assert usage["marketing_plugins"] == {"used": ["level_rates", "stage_bonus"],
                                          "allowed": []}
    assert usage["custom_domains"] == {"used": 1, "allowed": 0}
