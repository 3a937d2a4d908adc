"""The staff API of the distribution programme (/api/v1/console/distribution/) and the
printable compliance page: who may call each endpoint, what it does, and a clear 400, 404 or
409 that changes nothing for bad input, unknown ids and illegal moves."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django_tenants.utils import schema_context

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

pytestmark = pytest.mark.django_db

User = get_user_model()
API = "/api/v1/console/distribution"
OCT = dt.date(2026, 10, 1)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def make_staff(email: str, *codenames: str, is_staff: bool = True):
    user = User.objects.create_user(username=email, email=email, is_staff=is_staff,
                                    password="a-long-password-123")
    user.user_permissions.set(Permission.objects.filter(
        content_type__app_label="distribution", codename__in=codenames))
    return user


def send(client, method: str, path: str, body=None):
    if method in ("get", "delete"):
        return getattr(client, method)(path)
    return getattr(client, method)(path, json.dumps(body if body is not None else {}),
                                   content_type="application/json")


class World:
    """A mall with a programme running: a plan, levels, a chain of two, an applicant, a
    shopper who is not a distributor, a sale, statements in review, a withdrawal waiting
    for review and an open compliance alert."""

    def __init__(self, rules, sku):
        rules.commission_hold_days = 0
        rules.statement_review_from_fen = 1  # every statement waits for finance
        rules.save()
        self.start = levels.level_create(data={"name": "普通", "rank": 0,
                                               "rates_bp": [1000, 500]})
        self.gold = levels.level_create(data={"name": "黄金", "rank": 2,
                                              "rates_bp": [1200, 600],
                                              "conditions": {"monthly_gmv_fen": 5_000_000}})
        self.top, self.bottom = make_chain(2)
        rules.join_mode = "apply"
        rules.save()
        self.applicant = services.distributor_join(shopper=make_shopper(), note="想试试")
        rules.join_mode = "open"
        rules.save()
        self.draft = plans.plan_create({"name": "草稿", "rates_bp": [800]})
        self.shopper = make_shopper()
        self.buyer = make_shopper()
        with time_machine.travel(at(2026, 10, 10), tick=False):
            self.order = pay(place(self.buyer, (sku, 1), referrer=self.bottom))
            order_ship(order=self.order, staff_user_id=1, carrier="SF", tracking_number="1")
            order_confirm_receipt(order=self.order, shopper=self.buyer)
        settlement.commissions_release(now=at(2026, 10, 11))
        settlement.statements_generate(OCT, now=at(2026, 11, 2))
        self.statement = Statement.objects.get(distributor=self.bottom)
        top_statement = Statement.objects.get(distributor=self.top)
        settlement.statement_approve(statement_id=top_statement.pk, staff_id=1)
        self.withdrawal = withdrawals.withdrawal_request(distributor_id=self.top.pk,
                                                         amount_fen=300)
        assert self.withdrawal.status == "reviewing"  # a new account waits for review
        compliance_monitor(thresholds=Thresholds(max_depth=0))
        self.alert = ComplianceAlert.objects.get()
        self.owner = User.objects.get(username="owner@example.com")


@pytest.fixture
def world(rules, plan, sku):
    return World(rules, sku)


@pytest.fixture
def owner(world, mall_client):
    mall_client.force_login(world.owner)
    return mall_client


def endpoints(w: World) -> list[tuple[str, str, object, str]]:
    """(method, path, a valid body, the permission it needs)."""
    d, s = f"{API}/distributors/{w.bottom.pk}", w.statement.pk
    return [
        ("get", f"{API}/distributors/", None, "view_distributor"),
        ("get", f"{d}/", None, "view_distributor"),
        ("post", f"{API}/distributors/assign/", {"shopper_id": w.shopper.pk}, "add_distributor"),
        ("post", f"{API}/distributors/{w.applicant.pk}/approve/", None, "change_distributor"),
        ("post", f"{d}/freeze/", {"reason": "checking"}, "change_distributor"),
        ("post", f"{d}/unfreeze/", None, "change_distributor"),
        ("post", f"{d}/clear/", {"reason": "left"}, "change_distributor"),
        ("post", f"{d}/level/", {"level_id": w.gold.pk, "reason": "VIP"}, "change_distributor"),
        ("post", f"{d}/recruiter/", {"recruiter_id": None, "reason": "own team"},
         "change_distributor"),
        ("get", f"{d}/team/", None, "view_distributor"),
        ("get", f"{d}/customers/", None, "view_customerbinding"),
        ("get", f"{d}/binding-changes/", None, "view_customerbinding"),
        ("get", f"{API}/shoppers/{w.buyer.pk}/binding-history/", None, "view_customerbinding"),
        ("get", f"{API}/levels/", None, "view_level"),
        ("post", f"{API}/levels/", {"name": "白银", "rank": 1}, "add_level"),
        ("get", f"{API}/levels/{w.gold.pk}/", None, "view_level"),
        ("patch", f"{API}/levels/{w.gold.pk}/", {"name": "金牌"}, "change_level"),
        ("delete", f"{API}/levels/{w.gold.pk}/", None, "delete_level"),
        ("get", f"{API}/settings/", None, "view_distributionsettings"),
        ("patch", f"{API}/settings/", {"binding_days": 15}, "change_distributionsettings"),
        ("get", f"{API}/plans/", None, "view_commissionplan"),
        ("post", f"{API}/plans/", {"name": "新方案", "rates_bp": [800]}, "add_commissionplan"),
        ("get", f"{API}/plans/{w.draft.pk}/", None, "view_commissionplan"),
        ("put", f"{API}/plans/{w.draft.pk}/", {"name": "草稿二", "rates_bp": [700]},
         "change_commissionplan"),
        ("post", f"{API}/plans/{w.draft.pk}/activate/", None, "change_commissionplan"),
        ("post", f"{API}/plans/preview/", {"plan": {"name": "试算", "rates_bp": [1000]},
                                           "lines": [{"paid_fen": 9900}]},
         "view_commissionplan"),
        ("get", f"{API}/statements/", None, "view_statement"),
        ("get", f"{API}/statements/{s}/", None, "view_statement"),
        ("post", f"{API}/statements/{s}/approve/", None, "change_statement"),
        ("post", f"{API}/statements/{s}/hold/", {"reason": "check refunds"}, "change_statement"),
        ("get", f"{API}/withdrawals/", None, "view_withdrawal"),
        ("post", f"{API}/withdrawals/{w.withdrawal.pk}/approve/", None, "change_withdrawal"),
        ("post", f"{API}/withdrawals/{w.withdrawal.pk}/reject/", {"reason": "no"},
         "change_withdrawal"),
        ("get", f"{API}/compliance/alerts/", None, "view_compliancealert"),
        ("get", f"{API}/compliance/alerts/count/", None, "view_compliancealert"),
        ("post", f"{API}/compliance/alerts/{w.alert.pk}/resolve/", {"note": "family"},
         "change_compliancealert"),
        ("get", f"{API}/compliance/report/", None, "view_compliancealert"),
    ]


def snapshot(w: World) -> tuple:
    return (
        list(Distributor.objects.order_by("pk").values_list("status", "level_id", "path")),
        list(Level.objects.order_by("pk").values_list("name", "rank")),
        DistributionSettings.current().binding_days,
        list(CommissionPlan.objects.values_list("status", flat=True)),
        list(Statement.objects.order_by("pk").values_list("status", flat=True)),
        list(Withdrawal.objects.values_list("status", flat=True)),
        list(ComplianceAlert.objects.values_list("resolved_at", flat=True)),
    )


# ------------------------------------------------------------------ who may call


def test_anonymous_and_staff_without_the_permission_are_refused(world, mall_client):
    before = snapshot(world)
    for method, path, body, _ in endpoints(world):
        response = send(mall_client, method, path, body)
        assert (response.status_code, response.json()["code"]) == (
            403, "not_authenticated"), path
    mall_client.force_login(make_staff("shop@mall.test", is_staff=False))
    for method, path, body, _ in endpoints(world):
        response = send(mall_client, method, path, body)
        assert (response.status_code, response.json()["message"]) == (
            403, "Staff only."), path
    mall_client.force_login(make_staff("clerk@mall.test", "view_order"))
    for method, path, body, _ in endpoints(world):
        response = send(mall_client, method, path, body)
        assert (response.status_code, response.json()["message"]) == (
            403, "You do not have permission to do this."), path
    assert snapshot(world) == before


def test_each_endpoint_takes_exactly_its_permission(world, mall_client):
    for number, (method, path, body, needed) in enumerate(endpoints(world)):
        others = [codename for *_, codename in endpoints(world) if codename != needed]
        mall_client.force_login(make_staff(f"all-but-{number}@mall.test", *others))
        assert send(mall_client, method, path, body).status_code == 403, path
        mall_client.force_login(make_staff(f"only-{number}@mall.test", needed))
        with transaction.atomic():
            response = send(mall_client, method, path, body)
            transaction.set_rollback(True)
        assert response.status_code != 403 and response.status_code < 500, (path, response)


def test_the_owner_may_call_every_endpoint(world, owner):
    for method, path, body, _ in endpoints(world):
        with transaction.atomic():
            response = send(owner, method, path, body)
            transaction.set_rollback(True)
        # Every endpoint is let in; unfreezing someone active is then a 409, the rest pass.
        expected = (409,) if path.endswith("/unfreeze/") else (200, 201, 204)
        assert response.status_code in expected, (path, response.content)


def test_staff_of_another_mall_are_nobody_here(other_mall, mall, world):
    other_client = host_client(other_mall)
    with schema_context(other_mall.schema_name):
        boss = User.objects.get(username="owner@example.com")
        other_client.force_login(boss)
        assert other_client.get(f"{API}/distributors/").status_code == 200
    connection.set_tenant(mall)
    client = host_client(mall)
    client.cookies["sessionid"] = other_client.cookies["sessionid"].value
    for method, path, body, _ in endpoints(world):
        assert send(client, method, path, body).status_code == 403, path


# ------------------------------------------------------------------ distributors


def test_list_filters_by_status_level_and_search(world, owner):
    rows = owner.get(f"{API}/distributors/").json()
    assert rows["count"] == 3
    pending = owner.get(f"{API}/distributors/?status=pending").json()["results"]
    assert [row["id"] for row in pending] == [world.applicant.pk]
    by_code = owner.get(f"{API}/distributors/?q={world.top.invite_code.lower()}").json()
    assert [row["id"] for row in by_code["results"]] == [world.top.pk]
    Distributor.objects.filter(pk=world.top.pk).update(level=world.gold)
    by_level = owner.get(f"{API}/distributors/?level_id={world.gold.pk}").json()
    assert [row["id"] for row in by_level["results"]] == [world.top.pk]
    world.bottom.shopper.phone = "13800138000"
    world.bottom.shopper.save(update_fields=["phone"])
    by_phone = owner.get(f"{API}/distributors/?q=1380013").json()["results"]
    assert [row["id"] for row in by_phone] == [world.bottom.pk]

    bad = owner.get(f"{API}/distributors/?status=sleeping&level_id=x")
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"status", "level_id"}


def test_detail_has_team_totals_and_this_months_figures(world, owner):
    from storefront.distribution.tasks import count_attributed_sale

    count_attributed_sale(world.order.pk)
    body = owner.get(f"{API}/distributors/{world.top.pk}/").json()
    assert body["team"] == {"members": 1, "direct": 1, "sales_fen": 9900}
    assert body["figures"]["direct_recruits"] == 1
    assert body["level"]["name"] == "普通"
    assert body["timeline"][0]["to_status"] == "active"
    missing = owner.get(f"{API}/distributors/999999/")
    assert (missing.status_code, missing.json()["code"]) == (404, "distribution_not_found")


def test_approve_freeze_unfreeze_clear(world, owner):
    applicant = f"{API}/distributors/{world.applicant.pk}"
    assert owner.post(f"{applicant}/approve/").json()["status"] == "active"
    again = owner.post(f"{applicant}/approve/")
    assert (again.status_code, again.json()["code"]) == (409, "illegal_distribution_transition")

    bottom = f"{API}/distributors/{world.bottom.pk}"
    no_reason = send(owner, "post", f"{bottom}/freeze/", {})
    assert (no_reason.status_code, list(no_reason.json()["fields"])) == (400, ["reason"])
    assert send(owner, "post", f"{bottom}/freeze/", {"reason": "查"}).json()["status"] == "frozen"
    assert owner.post(f"{bottom}/unfreeze/").json()["status"] == "active"
    cleared = send(owner, "post", f"{bottom}/clear/", {"reason": "离开"}).json()
    assert cleared["status"] == "cleared"
    assert owner.post(f"{bottom}/unfreeze/").status_code == 409
    assert owner.post(f"{API}/distributors/999999/approve/").status_code == 404


def test_assign_a_shopper(world, owner):
    made = send(owner, "post", f"{API}/distributors/assign/",
                {"shopper_id": world.shopper.pk, "recruiter_id": world.top.pk})
    assert made.status_code == 201
    assert (made.json()["joined_via"], made.json()["recruiter"]["id"]) == ("staff", world.top.pk)
    twice = send(owner, "post", f"{API}/distributors/assign/", {"shopper_id": world.shopper.pk})
    assert (twice.status_code, twice.json()["code"]) == (409, "join_not_allowed")
    for body, field in [({"shopper_id": 999999}, "shopper_id"),
                        ({"shopper_id": "abc"}, "shopper_id"),
                        ({}, "shopper_id"),
                        ({"shopper_id": world.buyer.pk, "recruiter_id": 999999}, "recruiter_id")]:
        response = send(owner, "post", f"{API}/distributors/assign/", body)
        assert (response.status_code, list(response.json()["fields"])) == (400, [field]), body
    assert not Distributor.objects.filter(shopper=world.buyer).exists()


def test_change_level_and_recruiter(world, owner):
    bottom = f"{API}/distributors/{world.bottom.pk}"
    body = send(owner, "post", f"{bottom}/level/",
                {"level_id": world.gold.pk, "reason": "VIP"}).json()
    assert body["level"]["name"] == "黄金"
    assert body["level_changes"][-1]["reason"] == "staff: VIP"
    for payload, field in [({"level_id": 999999, "reason": "x"}, "level_id"),
                           ({"level_id": world.gold.pk}, "reason")]:
        response = send(owner, "post", f"{bottom}/level/", payload)
        assert (response.status_code, list(response.json()["fields"])) == (400, [field])

    cycle = send(owner, "post", f"{API}/distributors/{world.top.pk}/recruiter/",
                 {"recruiter_id": world.bottom.pk, "reason": "swap"})
    assert (cycle.status_code, cycle.json()["code"]) == (409, "recruitment_cycle")
    unknown = send(owner, "post", f"{bottom}/recruiter/", {"recruiter_id": 999999,
                                                           "reason": "x"})
    assert (unknown.status_code, list(unknown.json()["fields"])) == (400, ["recruiter_id"])
    moved = send(owner, "post", f"{bottom}/recruiter/", {"recruiter_id": None,
                                                         "reason": "own team"}).json()
    assert (moved["recruiter"], moved["depth"]) == (None, 0)


def test_customers_and_binding_history(world, owner):
    customers = owner.get(f"{API}/distributors/{world.bottom.pk}/customers/").json()
    assert [row["shopper"]["id"] for row in customers["results"]] == [world.buyer.pk]
    history = owner.get(f"{API}/shoppers/{world.buyer.pk}/binding-history/").json()
    [change] = history["results"]
    assert (change["from_distributor"], change["to_distributor"]["id"]) == (None, world.bottom.pk)
    assert change["reason"] == "bound by order"
    assert owner.get(f"{API}/distributors/999999/customers/").status_code == 404
    assert owner.get(f"{API}/shoppers/999999/binding-history/").status_code == 404


# ------------------------------------------------------------------ levels and settings


def test_levels_crud(world, owner):
    assert [row["name"] for row in owner.get(f"{API}/levels/").json()] == ["普通", "黄金"]
    made = send(owner, "post", f"{API}/levels/", {
        "name": "团长", "rank": 5, "match_all": True,
        "conditions": {"direct_recruits": 10, "team_sales_fen": 10_000_000}})
    assert made.status_code == 201
    level_id = made.json()["id"]
    assert send(owner, "patch", f"{API}/levels/{level_id}/",
                {"demote_monthly": True}).json()["demote_monthly"] is True
    assert owner.get(f"{API}/levels/{level_id}/").json()["name"] == "团长"
    assert owner.delete(f"{API}/levels/{level_id}/").status_code == 204
    held = owner.delete(f"{API}/levels/{world.start.pk}/")
    assert (held.status_code, held.json()["code"]) == (409, "level_in_use")
    assert owner.get(f"{API}/levels/999999/").status_code == 404
    assert send(owner, "patch", f"{API}/levels/999999/", {"name": "x"}).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "拉人头", "rank": 6, "conditions": {"direct_recruits": 10}}, "conditions"),
    ({"name": "钻石", "rank": 2}, "rank"),
    ({"name": "钻石", "rank": 6, "rates_bp": [100, 100, 100, 100]}, "rates_bp"),
    ({"rank": 6}, "name"),
    (["not", "an", "object"], "level"),
])
def test_bad_levels_are_400_naming_the_field(world, owner, body, field):
    response = send(owner, "post", f"{API}/levels/", body)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert Level.objects.count() == 2


def test_the_art_7_message_for_recruits_alone(world, owner):
    response = send(owner, "post", f"{API}/levels/",
                    {"name": "拉人头", "rank": 6, "conditions": {"direct_recruits": 10}})
    assert "《禁止传销条例》 art. 7" in response.json()["fields"]["conditions"][0]


def test_settings_read_and_update(world, owner):
    assert owner.get(f"{API}/settings/").json()["commission_hold_days"] == 0
    updated = send(owner, "patch", f"{API}/settings/", {"binding_days": 15,
                                                        "binding_mode": "first_touch_days"})
    assert (updated.status_code, updated.json()["binding_days"]) == (200, 15)
    bad = send(owner, "patch", f"{API}/settings/", {"binding_days": 0, "colour": "red",
                                                    "commission_cap_bp": 500})
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"binding_days", "colour"}
    cap = send(owner, "patch", f"{API}/settings/", {"commission_cap_bp": 500})
    assert (cap.status_code, list(cap.json()["fields"])) == (400, ["commission_cap_bp"])
    assert DistributionSettings.current().commission_cap_bp == 3000


# ------------------------------------------------------------------ plans


def test_plans_create_activate_and_preview(world, owner):
    made = send(owner, "post", f"{API}/plans/", {"name": "三级", "tiers": 3,
                                                 "rates_bp": [1000, 500, 300]})
    assert (made.status_code, made.json()["status"], made.json()["version"]) == (201, "draft", 3)
    plan_id = made.json()["id"]
    assert owner.get(f"{API}/plans/").json()["count"] == 3
    activated = owner.post(f"{API}/plans/{plan_id}/activate/")
    assert activated.json()["status"] == "active"
    again = owner.post(f"{API}/plans/{plan_id}/activate/")
    assert (again.status_code, again.json()["code"]) == (409, "illegal_distribution_transition")
    assert owner.post(f"{API}/plans/999999/activate/").status_code == 404
    assert owner.get(f"{API}/plans/999999/").status_code == 404

    preview = send(owner, "post", f"{API}/plans/preview/", {
        "plan": {"name": "试算", "tiers": 2, "rates_bp": [1000, 500]},
        "lines": [{"paid_fen": 9900, "quantity": 1}]}).json()
    assert preview["tiers"] == [{"tier": 1, "amount_fen": 990}, {"tier": 2, "amount_fen": 495}]
    assert preview["total_fen"] == 1485


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "拉人头", "rates_bp": [1000], "per_recruit_fen": 500}, "per_recruit_fen"),
    ({"name": "四级", "tiers": 4, "rates_bp": [100]}, "tiers"),
    ({"name": "太高", "rates_bp": [5000]}, "rates_bp"),
    ({"rates_bp": [1000]}, "name"),
])
def test_bad_plans_are_400_naming_the_rule(world, owner, body, field):
    response = send(owner, "post", f"{API}/plans/", body)
    assert (response.status_code, response.json()["code"]) == (400, "plan_invalid")
    assert field in response.json()["fields"]
    assert CommissionPlan.objects.count() == 2


@pytest.mark.parametrize(("body", "field"), [
    ({"plan": {"name": "x", "rates_bp": [1000]}, "lines": []}, "lines"),
    ({"plan": {"name": "x", "rates_bp": [1000]}, "lines": [{"paid_fen": -1}]}, "lines"),
    ({"plan": {"name": "x", "rates_bp": [1000]},
      "lines": [{"paid_fen": 1, "override": {"mode": "weird"}}]}, "lines"),
    ({"plan": {"name": "x", "tiers": 9}, "lines": [{"paid_fen": 1}]}, "tiers"),
    ({"lines": [{"paid_fen": 1}]}, "plan"),
])
def test_a_bad_preview_is_400(world, owner, body, field):
    response = send(owner, "post", f"{API}/plans/preview/", body)
    assert response.status_code == 400
    assert field in response.json()["fields"]


# ------------------------------------------------------------------ statements, withdrawals


def test_statements_list_hold_and_approve(world, owner):
    listed = owner.get(f"{API}/statements/?month=2026-10&status=in_review").json()
    assert [row["id"] for row in listed["results"]] == [world.statement.pk]
    assert owner.get(f"{API}/statements/?month=2026-09").json()["count"] == 0
    bad = owner.get(f"{API}/statements/?month=2026-13&status=lost")
    assert (bad.status_code, set(bad.json()["fields"])) == (400, {"month", "status"})

    path = f"{API}/statements/{world.statement.pk}"
    assert send(owner, "post", f"{path}/hold/", {}).status_code == 400
    held = send(owner, "post", f"{path}/hold/", {"reason": "退款多"}).json()
    assert (held["status"], held["hold_reason"]) == ("held", "退款多")
    assert owner.post(f"{path}/approve/").json()["status"] == "approved"
    assert withdrawals.withdrawable_fen(world.bottom.pk) == 990
    again = owner.post(f"{path}/approve/")
    assert (again.status_code, again.json()["code"]) == (409, "illegal_distribution_transition")
    assert send(owner, "post", f"{path}/hold/", {"reason": "x"}).status_code == 409
    assert owner.post(f"{API}/statements/999999/approve/").status_code == 404
    assert send(owner, "post", f"{API}/statements/999999/hold/",
                {"reason": "x"}).status_code == 404


def test_withdrawals_list_and_approve(world, owner):
    listed = owner.get(f"{API}/withdrawals/?status=reviewing").json()
    assert [row["id"] for row in listed["results"]] == [world.withdrawal.pk]
    assert "openid" not in listed["results"][0]
    assert owner.get(f"{API}/withdrawals/?status=lost").status_code == 400
    path = f"{API}/withdrawals/{world.withdrawal.pk}"
    assert owner.post(f"{path}/approve/").json()["status"] == "transferring"
    assert owner.post(f"{path}/approve/").status_code == 409
    assert send(owner, "post", f"{path}/reject/", {"reason": "x"}).status_code == 409
    assert owner.post(f"{API}/withdrawals/999999/approve/").status_code == 404


def test_rejecting_a_withdrawal_gives_the_money_back(world, owner):
    path = f"{API}/withdrawals/{world.withdrawal.pk}"
    assert withdrawals.withdrawable_fen(world.top.pk) == 195
    assert send(owner, "post", f"{path}/reject/", {}).status_code == 400
    rejected = send(owner, "post", f"{path}/reject/", {"reason": "核实身份"}).json()
    assert (rejected["status"], rejected["reason"]) == ("rejected", "核实身份")
    assert withdrawals.withdrawable_fen(world.top.pk) == 495
    assert send(owner, "post", f"{API}/withdrawals/999999/reject/",
                {"reason": "x"}).status_code == 404


# ------------------------------------------------------------------ compliance


def test_alerts_list_count_and_resolve(world, owner):
    listed = owner.get(f"{API}/compliance/alerts/").json()
    assert [row["id"] for row in listed["results"]] == [world.alert.pk]
    assert listed["results"][0]["kind"] == "tree_depth"
    assert owner.get(f"{API}/compliance/alerts/count/").json() == {
        "open": 1, "by_kind": {"tree_depth": 1}}
    bad = owner.get(f"{API}/compliance/alerts/?status=maybe&kind=gossip")
    assert (bad.status_code, set(bad.json()["fields"])) == (400, {"status", "kind"})

    path = f"{API}/compliance/alerts/{world.alert.pk}/resolve/"
    assert send(owner, "post", path, {}).status_code == 400
    resolved = send(owner, "post", path, {"note": "夫妻店"}).json()
    assert resolved["resolved_by_id"] == world.owner.pk
    assert resolved["details"]["resolution"]["note"] == "夫妻店"
    assert send(owner, "post", path, {"note": "again"}).status_code == 409
    assert send(owner, "post", f"{API}/compliance/alerts/999999/resolve/",
                {"note": "x"}).status_code == 404
    assert owner.get(f"{API}/compliance/alerts/count/").json()["open"] == 0
    assert owner.get(f"{API}/compliance/alerts/?status=resolved").json()["count"] == 1


def test_the_report_as_json(world, owner):
    report = owner.get(f"{API}/compliance/report/").json()
    assert report["rules"]["plan"]["rates_bp"] == [1000, 500]
    assert {check["key"]: check["status"] for check in report["checks"]}["joining_free"] == "ok"
    assert report["tree"]["max_depth"] == 1
    assert report["alerts"]["open"] == 1 and len(report["alerts"]["items"]) == 1
    assert report["commission_by_tier"][0]["amount_fen"] == 990


def test_the_printable_page(world, mall_client):
    url = "/console/distribution/compliance/"
    assert mall_client.get(url).status_code == 302  # to the console's sign-in
    mall_client.force_login(make_staff("clerk@mall.test", "view_distributor"))
    assert mall_client.get(url).status_code == 403
    assert 'id="compliance-link"' not in mall_client.get("/console/").content.decode()
    mall_client.force_login(make_staff("auditor@mall.test", "view_compliancealert"))
    page = mall_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "@media print" in html
    assert "Distribution compliance report" in html
    assert 'id="check-no_per_head_reward"' in html
    assert "10% / 5%" in html  # the plan's rates
    assert f'id="alert-{world.alert.pk}"' in html
    home = mall_client.get("/console/").content.decode()
    assert 'id="compliance-link"' in home and "(1)" in home


def test_the_printable_page_in_chinese(world, mall_client, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    mall_client.force_login(world.owner)
    html = mall_client.get("/console/distribution/compliance/",
                           HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "分销合规报告" in html and "按层级佣金" in html


def test_the_schema_documents_the_distribution_api(mall_client):
    response = mall_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/distributors/", "/distributors/{distributor_id}/",
                 "/distributors/{distributor_id}/recruiter/", "/levels/{level_id}/",
                 "/settings/", "/plans/preview/", "/statements/{statement_id}/hold/",
                 "/withdrawals/{withdrawal_id}/reject/", "/compliance/report/"):
        assert f"{API}{path}" in paths, path
    assert set(paths[f"{API}/levels/{{level_id}}/"]) >= {"get", "patch", "delete"}


# ------------------------------------------------------------------ added for the console


def test_team_binding_changes_and_statement_detail(world, owner):
    team = owner.get(f"{API}/distributors/{world.top.pk}/team/").json()
    assert [row["id"] for row in team["results"]] == [world.bottom.pk]
    assert owner.get(f"{API}/distributors/{world.top.pk}/team/?depth=2").json()["count"] == 0
    assert owner.get(f"{API}/distributors/{world.top.pk}/team/?depth=x").status_code == 400
    assert owner.get(f"{API}/distributors/999999/team/").status_code == 404
    changes = owner.get(f"{API}/distributors/{world.bottom.pk}/binding-changes/").json()
    [change] = changes["results"]
    assert (change["shopper"]["id"], change["to_distributor"]["id"]) == (
        world.buyer.pk, world.bottom.pk)
    assert owner.get(f"{API}/distributors/999999/binding-changes/").status_code == 404
    detail = owner.get(f"{API}/statements/{world.statement.pk}/").json()
    [commission] = detail["commissions"]
    assert (commission["order_number"], commission["amount_fen"], commission["tier"]) == (
        world.order.number, 990, 1)
    assert detail["reversals"] == []
    assert owner.get(f"{API}/statements/999999/").status_code == 404


def test_a_draft_is_edited_in_place_and_an_active_plan_never(world, owner):
    path = f"{API}/plans/{world.draft.pk}/"
    edited = send(owner, "put", path, {"name": "草稿二", "tiers": 2, "rates_bp": [700, 300]})
    assert (edited.status_code, edited.json()["rates_bp"]) == (200, [700, 300])
    bad = send(owner, "put", path, {"name": "太高", "rates_bp": [5000]})
    assert (bad.status_code, list(bad.json()["fields"])) == (400, ["rates_bp"])
    active = CommissionPlan.objects.get(status="active")
    refused = send(owner, "put", f"{API}/plans/{active.pk}/", {"name": "x", "rates_bp": [1]})
    assert (refused.status_code, refused.json()["code"]) == (
        409, "illegal_distribution_transition")
    assert send(owner, "put", f"{API}/plans/999999/", {"name": "x"}).status_code == 404
    world.draft.refresh_from_db()
    assert (world.draft.name, world.draft.rates_bp) == ("草稿二", [700, 300])


def test_every_change_through_the_api_leaves_an_audit_row(world, owner):
    from merchant_console.models import AuditEntry

    done = []
    for method, path, body, _ in endpoints(world):
        if method == "get" or path.endswith("/preview/"):  # reads change nothing
            continue
        before = AuditEntry.objects.count()
        response = send(owner, method, path, body)
        if response.status_code < 300:
            done.append(path)
            assert AuditEntry.objects.count() == before + 1, path
            entry = AuditEntry.objects.order_by("-id").first()
            assert (entry.area, entry.actor_email) == ("distribution", "owner@example.com")
        else:
            assert AuditEntry.objects.count() == before, (path, response.status_code)
    assert len(done) > 15
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"distributor.assign", "distributor.approve", "distributor.freeze",
            "level.create", "plan.update", "plan.activate", "settings.update",
            "statement.approve", "withdrawal.approve", "alert.resolve"} <= actions
