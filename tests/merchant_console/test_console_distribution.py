"""The console's distribution pages (/console/distribution/): who opens each page and who
may act (operations runs distributors, plans and levels; finance approves statements and
withdrawals; customer service sees none of it), what each action does with its audit row,
bad input answered with a message that changes nothing, and the pages' query counts with
several rows present."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django_tenants.utils import schema_context

from merchant_console.models import AuditEntry
from merchant_console.roles import OWNER, ROLE_PERMISSIONS
from storefront.distribution import levels, plans, services, settlement, withdrawals
from storefront.distribution.commissions import SHANGHAI
from storefront.distribution.compliance import Thresholds, compliance_monitor
from storefront.distribution.models import (
    CommissionPlan,
    ComplianceAlert,
    DistributionSettings,
    Distributor,
    Level,
    Statement,
    Withdrawal,
)
from storefront.orders.services import order_confirm_receipt, order_ship
from tests.conftest import host_client
from tests.distribution.conftest import make_chain, make_shopper, pay, place
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory

pytestmark = pytest.mark.django_db

C = "/console/distribution"
OCT = dt.date(2026, 10, 1)
ROLES = [OWNER, "admin", "operations", "finance", "customer_service"]


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


class Programme:
    """A running programme: two levels, an active plan 10% / 5% and a draft, two chains of
    three (six distributors) and an applicant, a sale by each chain's last two members in
    October settled into statements (those of ¥5 or more wait for finance), two
    withdrawals waiting for review and open compliance alerts."""

    def __init__(self):
        rules = DistributionSettings.current()
        rules.binding_mode = "permanent"
        rules.commission_hold_days = 0
        rules.statement_review_from_fen = 500
        rules.save()
        ShippingTemplateFactory(default_fee_fen=1000, free_above_fen=0)
        self.sku = SkuFactory(price_fen=9900, stock=100)
        self.start = levels.level_create(data={"name": "普通", "rank": 0,
                                               "rates_bp": [1000, 500]})
        self.gold = levels.level_create(data={"name": "黄金", "rank": 2,
                                              "rates_bp": [1200, 600],
                                              "conditions": {"monthly_gmv_fen": 5_000_000}})
        self.plan = plans.plan_activate(plan_id=plans.plan_create(
            {"name": "标准", "tiers": 2, "rates_bp": [1000, 500]}).pk)
        self.draft = plans.plan_create({"name": "草稿", "tiers": 2, "rates_bp": [800, 400]})
        self.chain = make_chain(3)
        self.other = make_chain(3)
        rules.join_mode = "apply"
        rules.save()
        self.applicant = services.distributor_join(shopper=make_shopper(), note="想试试")
        rules.join_mode = "open"
        rules.save()
        self.shopper = make_shopper()
        self.shopper.phone = "13700137000"
        self.shopper.save(update_fields=["phone"])
        self.buyers = []
        for seller in (self.chain[1], self.chain[2], self.other[1], self.other[2]):
            buyer = make_shopper()
            self.buyers.append(buyer)
            with time_machine.travel(at(2026, 10, 10), tick=False):
                order = pay(place(buyer, (self.sku, 1), referrer=seller))
                order_ship(order=order, staff_user_id=1, carrier="SF", tracking_number="1")
                order_confirm_receipt(order=order, shopper=buyer)
        settlement.commissions_release(now=at(2026, 10, 11))
        settlement.statements_generate(OCT, now=at(2026, 11, 2))
        self.statement = Statement.objects.get(distributor=self.chain[2])
        assert self.statement.status == "in_review"
        self.withdrawals = []
        for distributor in (self.chain[1], self.other[1]):
            statement = Statement.objects.get(distributor=distributor)
            settlement.statement_approve(statement_id=statement.pk, staff_id=1)
            self.withdrawals.append(withdrawals.withdrawal_request(
                distributor_id=distributor.pk, amount_fen=300))
        compliance_monitor(thresholds=Thresholds(max_depth=1))
        self.alert = ComplianceAlert.objects.order_by("id").first()


@pytest.fixture
def programme(mall, pro_plan):
    """On the plan with 3 tiers and every plugin: these tests are about the console, the
    plan's limits are tests/billing's."""
    return Programme()


def pages(p: Programme) -> list[tuple[str, str]]:
    """(page, the permission it needs)."""
    return [
        (f"{C}/", "distribution.view_distributor"),
        (f"{C}/?status=active&q=1", "distribution.view_distributor"),
        (f"{C}/{p.chain[0].pk}/", "distribution.view_distributor"),
        (f"{C}/shoppers/{p.buyers[0].pk}/bindings/", "distribution.view_customerbinding"),
        (f"{C}/plans/", "distribution.view_commissionplan"),
        (f"{C}/plans/new/", "distribution.view_commissionplan"),
        (f"{C}/plans/{p.draft.pk}/", "distribution.view_commissionplan"),
        (f"{C}/levels/", "distribution.view_level"),
        (f"{C}/levels/new/", "distribution.add_level"),
        (f"{C}/levels/{p.gold.pk}/", "distribution.view_level"),
        (f"{C}/statements/", "distribution.view_statement"),
        (f"{C}/statements/{p.statement.pk}/", "distribution.view_statement"),
        (f"{C}/withdrawals/", "distribution.view_withdrawal"),
        (f"{C}/compliance/", "distribution.view_compliancealert"),
        (f"{C}/compliance/alerts/", "distribution.view_compliancealert"),
        (f"{C}/settings/", "distribution.view_distributionsettings"),
    ]


def actions(p: Programme) -> list[tuple[str, dict, str]]:
    """(action URL, a valid form, the permission it needs)."""
    d = f"{C}/{p.chain[2].pk}/action/"
    return [
        (f"{C}/assign/", {"shopper": "13700137000"}, "distribution.add_distributor"),
        (f"{C}/{p.applicant.pk}/action/", {"action": "approve"},
         "distribution.change_distributor"),
        (d, {"action": "freeze", "reason": "核查"}, "distribution.change_distributor"),
        (d, {"action": "level", "level": p.gold.pk, "reason": "VIP"},
         "distribution.change_distributor"),
        (d, {"action": "recruiter", "recruiter": "", "reason": "独立"},
         "distribution.change_distributor"),
        (f"{C}/plans/new/", plan_form(), "distribution.add_commissionplan"),
        (f"{C}/plans/{p.draft.pk}/", plan_form(rate_1="7"),
         "distribution.change_commissionplan"),
        (f"{C}/plans/{p.draft.pk}/activate/", {}, "distribution.change_commissionplan"),
        (f"{C}/levels/new/", {"name": "白银", "rank": "1", "rate_1": "11",
                              "monthly_gmv_fen": "1000", "match_all": "on"},
         "distribution.add_level"),
        (f"{C}/levels/{p.gold.pk}/", {"name": "金牌", "rank": "2", "rate_1": "12",
                                      "monthly_gmv_fen": "50000", "match_all": "on"},
         "distribution.change_level"),
        (f"{C}/levels/{p.gold.pk}/delete/", {}, "distribution.delete_level"),
        (f"{C}/statements/{p.statement.pk}/decide/", {"action": "approve"},
         "distribution.change_statement"),
        (f"{C}/withdrawals/{p.withdrawals[0].pk}/decide/", {"action": "approve"},
         "distribution.change_withdrawal"),
        (f"{C}/compliance/alerts/{p.alert.pk}/resolve/", {"note": "看过"},
         "distribution.change_compliancealert"),
        (f"{C}/settings/", settings_form(binding_days="15"),
         "distribution.change_distributionsettings"),
    ]


def plan_form(**changes) -> dict:
    form = {"name": "新方案", "tiers": "2", "rate_source": "static", "rate_1": "10",
            "rate_2": "5", "rate_3": "", "payout_route": "transfer",
            "sample_amount_0": "99", "sample_qty_0": "1"}
    return {**form, **changes}


def settings_form(**changes) -> dict:
    from merchant_console.distribution_views import SETTING_KINDS, _setting_value
    from storefront.distribution.program_settings import settings_as_dict

    current = settings_as_dict(DistributionSettings.current())
    form = {}
    for name, kind in SETTING_KINDS.items():
        value = _setting_value(name, current[name])
        if kind == "bool":
            if value:
                form[name] = "on"
        else:
            form[name] = str(value)
    return {**form, **changes}


def holds(role: str, permission: str) -> bool:
    return role == OWNER or permission in ROLE_PERMISSIONS[role]


# ------------------------------------------------------------------ who may open and act


def test_each_role_opens_exactly_the_pages_its_permissions_name(programme, staff_client,
                                                                  mall_client):
    for path, _ in pages(programme):
        response = mall_client.get(path)
        assert response.status_code == 302 and "/console/login/" in response.url, path
    for role in ROLES:
        client = staff_client(role)
        for path, permission in pages(programme):
            expected = 200 if holds(role, permission) else 403
            assert client.get(path).status_code == expected, (role, path)


def test_operations_run_the_programme_but_never_approve_money(programme):
    ops, finance = ROLE_PERMISSIONS["operations"], ROLE_PERMISSIONS["finance"]
    assert {"distribution.change_distributor", "distribution.add_commissionplan",
            "distribution.change_commissionplan", "distribution.change_level"} <= ops
    assert not {"distribution.change_statement", "distribution.change_withdrawal"} & ops
    assert {"distribution.change_statement", "distribution.change_withdrawal"} <= finance
    assert not any(name.startswith("distribution.")
                   for name in ROLE_PERMISSIONS["customer_service"])


def test_each_role_may_act_exactly_as_its_permissions_say(programme, staff_client,
                                                           mall_client):
    for path, form, _ in actions(programme):
        response = mall_client.post(path, form)
        assert response.status_code == 302 and "/console/login/" in response.url, path
    assert not AuditEntry.objects.exists()
    for role in ROLES:
        client = staff_client(role)
        for path, form, permission in actions(programme):
            with transaction.atomic():
                response = client.post(path, form)
                if holds(role, permission):
                    assert response.status_code == 302, (role, path, response.status_code)
                    assert AuditEntry.objects.filter(area="distribution").exists(), (
                        role, path)
                else:
                    assert response.status_code == 403, (role, path)
                    assert not AuditEntry.objects.exists(), (role, path)
                transaction.set_rollback(True)


def test_staff_of_another_mall_are_not_signed_in_here(programme, other_mall, mall):
    other_client = host_client(other_mall)
    with schema_context(other_mall.schema_name):
        other_client.force_login(get_user_model().objects.get(username="owner@example.com"))
        assert other_client.get(f"{C}/").status_code == 200
    connection.set_tenant(mall)
    client = host_client(mall)
    client.cookies["sessionid"] = other_client.cookies["sessionid"].value
    for path, _ in pages(programme):
        response = client.get(path)
        assert response.status_code == 302 and "/console/login/" in response.url, path


def test_the_navigation_and_tabs_follow_the_role(programme, staff_client):
    finance = staff_client("finance").get(f"{C}/").content.decode()
    assert 'data-area="distribution"' in finance
    assert f'href="{C}/statements/"' in finance and f'href="{C}/levels/"' not in finance
    assert f'href="{C}/settings/"' not in finance and 'id="assign"' not in finance
    operations = staff_client("operations").get(f"{C}/").content.decode()
    assert f'href="{C}/statements/"' not in operations
    assert f'href="{C}/withdrawals/"' not in operations and 'id="assign"' in operations
    service = staff_client("customer_service").get("/console/").content.decode()
    assert 'data-area="distribution"' not in service


# ------------------------------------------------------------------ query counts


@pytest.mark.parametrize(("role", "path_of", "queries"), [
    ("operations", lambda p: f"{C}/", 14),
    ("operations", lambda p: f"{C}/{p.chain[0].pk}/", 28),
    ("operations", lambda p: f"{C}/plans/", 10),
    ("operations", lambda p: f"{C}/plans/{p.draft.pk}/", 14),  # + the plans (limits)
    ("operations", lambda p: f"{C}/levels/", 11),
    ("operations", lambda p: f"{C}/settings/", 10),
    ("finance", lambda p: f"{C}/statements/", 12),
    ("finance", lambda p: f"{C}/statements/{p.statement.pk}/", 14),
    ("finance", lambda p: f"{C}/withdrawals/", 11),
    ("finance", lambda p: f"{C}/compliance/alerts/", 11),
])
def test_pages_answer_in_a_fixed_number_of_queries(programme, staff_client,
                                                   django_assert_num_queries, role, path_of,
                                                   queries):
    client = staff_client(role)
    path = path_of(programme)
    client.get(path)
    with django_assert_num_queries(queries):
        response = client.get(path)
    assert response.status_code == 200


# ------------------------------------------------------------------ distributors


def test_the_list_filters_by_status_level_and_name_or_phone(programme, staff_client):
    client = staff_client("operations")
    page = client.get(f"{C}/").content.decode()
    assert page.count('id="distributor-') == 7
    # chain[1]: depth 1, one recruit, one customer (bound by the sale it referred)
    row = page.split(f'id="distributor-{programme.chain[1].pk}"')[1].split("</tr>")[0]
    assert ('<td class="num">1</td><td class="num">1</td><td class="num">1</td>'
            in row), row
    pending = client.get(f"{C}/", {"status": "pending"}).content.decode()
    assert pending.count('id="distributor-') == 1
    assert f'id="distributor-{programme.applicant.pk}"' in pending
    Distributor.objects.filter(pk=programme.chain[1].pk).update(level=programme.gold)
    golden = client.get(f"{C}/", {"level": programme.gold.pk}).content.decode()
    assert golden.count('id="distributor-') == 1
    shopper = programme.chain[2].shopper
    shopper.nickname, shopper.phone = "小林茶铺", "13912345678"
    shopper.save(update_fields=["nickname", "phone"])
    for q in ("林茶", "1391234", programme.chain[2].invite_code.lower()):
        found = client.get(f"{C}/", {"q": q}).content.decode()
        assert found.count('id="distributor-') == 1, q
        assert f'id="distributor-{programme.chain[2].pk}"' in found
    odd = client.get(f"{C}/", {"status": "sleeping", "level": "x", "page": "zz"})
    assert odd.status_code == 200 and odd.content.decode().count('id="distributor-') == 7


def test_the_detail_shows_team_by_depth_customers_and_history(programme, staff_client):
    client = staff_client("operations")
    top = programme.chain[0]
    page = client.get(f"{C}/{top.pk}/").content.decode()
    assert programme.chain[1].invite_code in page and programme.chain[2].invite_code in page
    direct = client.get(f"{C}/{top.pk}/", {"depth": "1"}).content.decode()
    team = direct.split('id="team"')[1].split("</section>")[0]
    assert programme.chain[1].invite_code in team
    assert programme.chain[2].invite_code not in team
    seller = client.get(f"{C}/{programme.chain[2].pk}/").content.decode()
    assert 'id="customers"' in seller and "bound by order" in seller
    finance = staff_client("finance").get(f"{C}/{programme.chain[2].pk}/").content.decode()
    assert 'id="customers"' not in finance and 'id="actions"' not in finance
    assert client.get(f"{C}/999999/").status_code == 404
    assert client.get(f"{C}/shoppers/999999/bindings/").status_code == 404


def test_approve_freeze_unfreeze_and_clear_with_their_audit_rows(programme, staff_client):
    client = staff_client("operations")
    applicant = programme.applicant
    response = client.post(f"{C}/{applicant.pk}/action/", {"action": "approve"}, follow=True)
    assert "Application approved." in response.content.decode()
    applicant.refresh_from_db()
    assert applicant.status == "active"
    seller = programme.chain[2]
    url = f"{C}/{seller.pk}/action/"
    no_reason = client.post(url, {"action": "freeze", "reason": "  "}, follow=True)
    assert "Say why." in no_reason.content.decode()
    seller.refresh_from_db()
    assert seller.status == "active"
    client.post(url, {"action": "freeze", "reason": "核查订单"})
    client.post(url, {"action": "unfreeze", "reason": "查清了"})
    client.post(url, {"action": "clear", "reason": "离开"})
    twice = client.post(url, {"action": "unfreeze"}, follow=True).content.decode()
    assert "cleared" in twice  # the engine's refusal, shown as a message
    seller.refresh_from_db()
    assert seller.status == "cleared"
    rows = list(AuditEntry.objects.order_by("id").values_list("action", "target", "detail"))
    assert rows == [
        ("distributor.approve", str(applicant.pk), {}),
        ("distributor.freeze", str(seller.pk), {"reason": "核查订单"}),
        ("distributor.unfreeze", str(seller.pk), {"reason": "查清了"}),
        ("distributor.clear", str(seller.pk), {"reason": "离开"}),
    ]
    unknown = client.post(url, {"action": "explode"}, follow=True)
    assert "Unknown action." in unknown.content.decode()


def test_assign_change_level_and_recruiter(programme, staff_client):
    client = staff_client("operations")
    top = programme.chain[0]
    made = client.post(f"{C}/assign/", {"shopper": "13700137000",
                                        "recruiter": top.invite_code.lower()}, follow=True)
    assigned = Distributor.objects.get(shopper=programme.shopper)
    assert (assigned.joined_via, assigned.recruiter_id) == ("staff", top.pk)
    assert made.redirect_chain[-1][0] == f"{C}/{assigned.pk}/"
    for form, words in [({"shopper": "13700137000"}, "already"),
                        ({"shopper": "10000000000"}, "No shopper"),
                        ({"shopper": f"#{programme.buyers[0].pk}", "recruiter": "ZZZZZZ"},
                         "No distributor has this invite code")]:
        response = client.post(f"{C}/assign/", form, follow=True)
        assert words in response.content.decode(), form
    assert not Distributor.objects.filter(shopper=programme.buyers[0]).exists()

    seller = programme.chain[2]
    url = f"{C}/{seller.pk}/action/"
    client.post(url, {"action": "level", "level": programme.gold.pk, "reason": "VIP"})
    seller.refresh_from_db()
    assert seller.level_id == programme.gold.pk
    bad = client.post(url, {"action": "level", "level": "999999", "reason": "x"}, follow=True)
    assert "No such level." in bad.content.decode()
    cycle = client.post(f"{C}/{top.pk}/action/", {"action": "recruiter",
                                                  "recruiter": seller.invite_code,
                                                  "reason": "swap"}, follow=True)
    assert "cycle" in cycle.content.decode()
    client.post(url, {"action": "recruiter", "recruiter": programme.other[0].invite_code,
                      "reason": "换团队"})
    seller.refresh_from_db()
    assert seller.recruiter_id == programme.other[0].pk
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "distributor.assign", "distributor.level", "distributor.recruiter"]


# ------------------------------------------------------------------ plans


def test_the_editor_previews_the_plan_as_typed(programme, staff_client):
    client = staff_client("operations")
    page = client.get(f"{C}/plans/{programme.draft.pk}/").content.decode()
    assert 'id="rate-1" value="8"' in page
    assert f'hx-post="{C}/plans/preview/"' in page
    preview = client.post(f"{C}/plans/preview/", plan_form(rate_1="10")).content.decode()
    assert 'id="preview-tier-1">¥9.90' in preview and 'id="preview-total">¥14.85' in preview
    higher = client.post(f"{C}/plans/preview/", plan_form(rate_1="12.5")).content.decode()
    assert 'id="preview-tier-1">¥12.37' in higher
    goods = client.post(f"{C}/plans/preview/", plan_form(
        sample_amount_0="", sample_sku_0=str(programme.sku.pk), sample_qty_0="2")).content
    assert 'id="preview-tier-1">¥19.80' in goods.decode()
    too_high = client.post(f"{C}/plans/preview/", plan_form(rate_1="40")).content.decode()
    assert 'id="preview-invalid"' in too_high
    assert 'id="errors-rates_bp" class="field-errors" hx-swap-oob="true"' in too_high
    assert "commission cap of 30%" in too_high
    for form, field in [(plan_form(rate_1="abc"), "rates_bp"),
                        (plan_form(tiers="9"), "tiers"),
                        (plan_form(name=""), "name"),
                        (plan_form(sample_amount_0=""), "lines"),
                        (plan_form(sample_sku_0="999999"), "lines"),
                        (plan_form(team_on="on", team_rate="5", team_cap="10"), "team_reward")]:
        response = client.post(f"{C}/plans/preview/", form).content.decode()
        errors = response.split(f'id="errors-{field}"')[1].split("</div>")[0]
        assert 'class="error"' in errors, (form, field)
    assert not AuditEntry.objects.exists()
    assert staff_client("customer_service").post(f"{C}/plans/preview/",
                                                 plan_form()).status_code == 403


def test_save_a_draft_save_a_new_one_and_activate(programme, staff_client):
    client = staff_client("operations")
    draft = programme.draft
    saved = client.post(f"{C}/plans/{draft.pk}/", plan_form(name="草稿二", rate_1="7.5",
                                                            rate_2="2.5"))
    assert saved.status_code == 302
    draft.refresh_from_db()
    assert (draft.name, draft.rates_bp, draft.status) == ("草稿二", [750, 250], "draft")
    bad = client.post(f"{C}/plans/{draft.pk}/", plan_form(rate_1="45"))
    assert bad.status_code == 400 and "commission cap" in bad.content.decode()
    draft.refresh_from_db()
    assert draft.rates_bp == [750, 250]
    art7 = client.post(f"{C}/plans/new/", plan_form(team_on="on", team_rate="1",
                                                   team_cap="5", team_rank="0"))
    assert art7.status_code == 400 and "acknowledge_legal_risk" in art7.content.decode()
    active = programme.plan
    refused = client.post(f"{C}/plans/{active.pk}/", plan_form())
    assert refused.status_code == 400 and "only a draft can be edited" in refused.content.decode()
    new = client.post(f"{C}/plans/new/", plan_form(name="三级", tiers="3", rate_3="2"))
    plan = CommissionPlan.objects.get(name="三级")
    assert new.url == f"{C}/plans/{plan.pk}/"
    assert (plan.tiers, plan.rates_bp, plan.status) == (3, [1000, 500, 200], "draft")
    client.post(f"{C}/plans/{plan.pk}/activate/")
    plan.refresh_from_db()
    active.refresh_from_db()
    assert (plan.status, active.status) == ("active", "retired")
    again = client.post(f"{C}/plans/{plan.pk}/activate/", follow=True)
    assert "only a draft can be activated" in again.content.decode()
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "plan.update", "plan.create", "plan.activate"]
    assert client.get(f"{C}/plans/999999/").status_code == 404
    assert client.get(f"{C}/plans/new/", {"from": "999999"}).status_code == 404


def test_finance_reads_plans_but_cannot_save_or_activate(programme, staff_client):
    client = staff_client("finance")
    page = client.get(f"{C}/plans/{programme.draft.pk}/").content.decode()
    assert 'id="save-draft"' not in page and 'id="activate"' not in page
    assert client.post(f"{C}/plans/{programme.draft.pk}/", plan_form()).status_code == 403
    assert client.post(f"{C}/plans/new/", plan_form()).status_code == 403


# ------------------------------------------------------------------ levels and settings


def test_levels_create_edit_and_delete(programme, staff_client):
    client = staff_client("operations")
    client.post(f"{C}/levels/new/", {"name": "白银", "rank": "1", "rate_1": "11",
                                     "rate_2": "5.5", "monthly_gmv_fen": "1000",
                                     "direct_recruits": "3", "match_all": "on"})
    silver = Level.objects.get(name="白银")
    assert (silver.rates_bp, silver.conditions) == (
        [1100, 550], {"monthly_gmv_fen": 100000, "direct_recruits": 3})
    listed = client.get(f"{C}/levels/").content.decode()
    assert "11% / 5.5%" in listed and "¥1000.00" in listed
    recruits_only = client.post(f"{C}/levels/new/", {"name": "拉人", "rank": "5",
                                                     "direct_recruits": "10",
                                                     "match_all": "on"})
    assert recruits_only.status_code == 400 and "art. 7" in recruits_only.content.decode()
    taken = client.post(f"{C}/levels/new/", {"name": "重复", "rank": "1"})
    assert taken.status_code == 400 and "rank 1" in taken.content.decode()
    for form in ({"name": "x", "rank": "abc"}, {"name": "x", "rank": "3", "rate_1": "200"}):
        assert client.post(f"{C}/levels/new/", form).status_code == 400
    client.post(f"{C}/levels/{silver.pk}/", {"name": "银牌", "rank": "1", "rate_1": "11",
                                             "monthly_gmv_fen": "2000", "match_all": "on"})
    silver.refresh_from_db()
    assert (silver.name, silver.conditions) == ("银牌", {"monthly_gmv_fen": 200000})
    held = client.post(f"{C}/levels/{programme.start.pk}/delete/", follow=True)
    assert "hold this level" in held.content.decode()
    client.post(f"{C}/levels/{silver.pk}/delete/")
    assert not Level.objects.filter(pk=silver.pk).exists()
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "level.create", "level.update", "level.delete"]
    assert client.get(f"{C}/levels/999999/").status_code == 404


def test_settings_save_in_yuan_and_percent_and_refuse_bad_values(programme, staff_client):
    client = staff_client("operations")
    page = client.get(f"{C}/settings/").content.decode()
    assert 'id="setting-commission_cap_bp" value="30"' in page
    saved = client.post(f"{C}/settings/", settings_form(withdrawal_min_fen="2.5",
                                                        withdrawal_fee_bp="0.6",
                                                        binding_days="15"))
    assert saved.status_code == 302
    rules = DistributionSettings.current()
    assert (rules.withdrawal_min_fen, rules.withdrawal_fee_bp, rules.binding_days) == (
        250, 60, 15)
    [entry] = AuditEntry.objects.all()
    assert entry.action == "settings.update"
    assert entry.detail["binding_days"] == [30, 15]
    for changes, words in [({"binding_days": "abc"}, "A whole number"),
                           ({"commission_cap_bp": "5"}, "commission cap"),
                           ({"join_mode": "pyramid"}, "Choose one of"),
                           ({"enroll_buyers": "on", "join_mode": "apply"}, "art. 7")]:
        response = client.post(f"{C}/settings/", settings_form(**changes))
        assert response.status_code == 400, changes
        assert words in response.content.decode(), changes
    assert DistributionSettings.current().binding_days == 15
    assert AuditEntry.objects.count() == 1
    finance_page = staff_client("admin").get(f"{C}/settings/")
    assert finance_page.status_code == 200


# ------------------------------------------------------------------ statements, withdrawals


def test_finance_reviews_statements_approve_and_hold(programme, staff_client):
    client = staff_client("finance")
    queue = client.get(f"{C}/statements/", {"status": "in_review"}).content.decode()
    waiting = Statement.objects.filter(status="in_review")
    assert waiting.count() == 2
    assert queue.count('id="statement-') == 2 and "2 statements wait for review" in queue
    assert client.get(f"{C}/statements/", {"month": "2026-09"}).content.decode().count(
        'id="statement-') == 0
    assert client.get(f"{C}/statements/", {"month": "2026-13", "status": "x"}).status_code == 200
    detail = client.get(f"{C}/statements/{programme.statement.pk}/").content.decode()
    assert "¥9.90" in detail and 'id="approve-statement"' in detail
    url = f"{C}/statements/{programme.statement.pk}/decide/"
    no_reason = client.post(url, {"action": "hold", "reason": ""}, follow=True)
    assert "Say why." in no_reason.content.decode()
    client.post(url, {"action": "hold", "reason": "退款多"})
    programme.statement.refresh_from_db()
    assert (programme.statement.status, programme.statement.hold_reason) == ("held", "退款多")
    back = client.post(url, {"action": "approve", "next": f"{C}/statements/?status=held"})
    assert back.url == f"{C}/statements/?status=held"
    programme.statement.refresh_from_db()
    assert programme.statement.status == "approved"
    assert withdrawals.withdrawable_fen(programme.chain[2].pk) == 990
    again = client.post(url, {"action": "approve"}, follow=True)
    assert again.status_code == 200  # a message, not an error page
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "statement.hold", "statement.approve"]
    assert client.get(f"{C}/statements/999999/").status_code == 404
    ops = staff_client("operations")
    assert ops.post(url, {"action": "approve"}).status_code == 403


def test_finance_approves_and_rejects_withdrawals(programme, staff_client):
    client = staff_client("finance")
    page = client.get(f"{C}/withdrawals/").content.decode()
    assert page.count('id="withdrawal-') == 2
    first, second = programme.withdrawals
    client.post(f"{C}/withdrawals/{first.pk}/decide/", {"action": "approve"})
    first.refresh_from_db()
    assert first.status == "transferring"
    balance = withdrawals.withdrawable_fen(second.distributor_id)
    empty = client.post(f"{C}/withdrawals/{second.pk}/decide/", {"action": "reject"},
                        follow=True)
    assert "Say why." in empty.content.decode()
    client.post(f"{C}/withdrawals/{second.pk}/decide/", {"action": "reject",
                                                         "reason": "核实身份"})
    second.refresh_from_db()
    assert (second.status, second.reason) == ("rejected", "核实身份")
    assert withdrawals.withdrawable_fen(second.distributor_id) == balance + 300
    assert client.get(f"{C}/withdrawals/", {"status": "all"}).content.decode().count(
        'id="withdrawal-') == 2
    assert list(Withdrawal.objects.order_by("id").values_list("status", flat=True)) == [
        "transferring", "rejected"]
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "withdrawal.approve", "withdrawal.reject"]


# ------------------------------------------------------------------ compliance


def test_alerts_are_resolved_with_a_note_and_the_report_is_on_the_layout(programme,
                                                                          staff_client):
    client = staff_client("finance")
    alerts = client.get(f"{C}/compliance/alerts/").content.decode()
    assert f'id="alert-{programme.alert.pk}"' in alerts
    url = f"{C}/compliance/alerts/{programme.alert.pk}/resolve/"
    assert "Say what you found" in client.post(url, {"note": ""}, follow=True).content.decode()
    client.post(url, {"note": "同一家人"})
    programme.alert.refresh_from_db()
    assert programme.alert.details["resolution"]["note"] == "同一家人"
    resolved = client.get(f"{C}/compliance/alerts/", {"status": "resolved"}).content.decode()
    assert "同一家人" in resolved
    [entry] = AuditEntry.objects.all()
    assert (entry.action, entry.target) == ("alert.resolve", str(programme.alert.pk))
    report = client.get(f"{C}/compliance/").content.decode()
    assert 'class="console-shell"' in report and 'id="distribution-tabs"' in report
    assert "10% / 5%" in report
    assert staff_client("operations").post(url, {"note": "x"}).status_code == 403


def test_the_pages_speak_chinese_first(programme, staff_client, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client = staff_client("owner")
    listed = client.get(f"{C}/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "指定顾客为分销员" in listed and "待审核" in listed and "分销设置" in listed
    editor = client.get(f"{C}/plans/{programme.draft.pk}/",
                        HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "各级比例" in editor and "另存为新草稿" in editor
    queue = client.get(f"{C}/statements/", {"status": "in_review"},
                       HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "2 张结算单待审核" in queue and "待财务审核" in queue
