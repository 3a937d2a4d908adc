"""The anti-pyramid monitor, its alerts, the compliance report, and what platform admins see
(DESIGN §6, 《禁止传销条例》 art. 7)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from core.actors import Actor
from storefront.distribution import compliance, levels, settlement
from storefront.distribution.commissions import SHANGHAI
from storefront.distribution.compliance import Thresholds, compliance_monitor
from storefront.distribution.errors import (
    AlertNotFound,
    DistributionInvalid,
    IllegalDistributionTransition,
)
from storefront.distribution.models import ComplianceAlert, Distributor, Level
from storefront.orders.after_sales import (
    RefundItem,
    after_sales_approve,
    after_sales_mark_refunded,
    after_sales_request,
)
from storefront.orders.services import order_confirm_receipt, order_ship
from tests.conftest import host_client
from tests.distribution.conftest import make_chain, make_shopper, pay, place

pytestmark = pytest.mark.django_db


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def soon() -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=1)


def alerts(kind=None) -> list[tuple]:
    rows = ComplianceAlert.objects.order_by("id")
    if kind:
        rows = rows.filter(kind=kind)
    return list(rows.values_list("kind", "distributor_id", "day"))


# ------------------------------------------------------------------ the checks


def test_tree_depth_is_raised_for_the_head_of_the_branch_and_again_only_deeper(rules):
    chain = make_chain(5)  # depths 0..4
    shallow = Thresholds(max_depth=2)
    now = soon()

    assert compliance_monitor(now=now, thresholds=shallow) == {"tree_depth": 1}
    alert = ComplianceAlert.objects.get()
    assert (alert.distributor_id, alert.details["max_depth"], alert.details["members"]) == (
        chain[3].pk, 4, 2)
    assert f"The branch from {chain[3].invite_code} reaches depth 4, beyond 2" in alert.summary
    assert compliance_monitor(now=now, thresholds=shallow) == {}  # same night: nothing new
    tomorrow = now + dt.timedelta(days=1)
    assert compliance_monitor(now=tomorrow, thresholds=shallow) == {}  # no deeper

    make_chain_below(chain[-1])
    assert compliance_monitor(now=tomorrow, thresholds=shallow) == {"tree_depth": 1}
    assert ComplianceAlert.objects.order_by("id").last().details["max_depth"] == 5


def make_chain_below(distributor):
    from storefront.distribution import services

    return services.distributor_join(shopper=make_shopper(), invite_code=distributor.invite_code)


def test_a_recruitment_burst_within_24_hours(rules):
    (top,) = make_chain(1)
    recruits = [make_chain_below(top) for _ in range(3)]
    burst = Thresholds(burst_recruits=2)

    assert compliance_monitor(now=soon(), thresholds=burst) == {"recruitment_burst": 1}
    alert = ComplianceAlert.objects.get()
    assert (alert.distributor_id, alert.details["recruits"]) == (top.pk, 3)
    # While that alert is open, the next night's run does not raise the burst again.
    assert compliance_monitor(now=soon() + dt.timedelta(hours=1), thresholds=burst) == {}
    # Two of three inside the window is not a burst.
    Distributor.objects.filter(pk=recruits[0].pk).update(
        created_at=timezone.now() - dt.timedelta(days=2))
    ComplianceAlert.objects.all().delete()
    assert compliance_monitor(now=soon(), thresholds=burst) == {}


def test_recruitment_heavy_rewards(plan, sku):
    (top,) = make_chain(1)
    seller, idle = make_chain_below(top), make_chain_below(top)
    pay(place(make_shopper(), (sku, 1), referrer=seller))  # seller 990 (tier 1), top 495
    heavy = Thresholds(heavy_min_recruits=2, heavy_min_commission_fen=100,
                       heavy_own_sales_below_fen=1)

    assert compliance_monitor(now=soon(), thresholds=heavy) == {"recruitment_heavy": 1}
    alert = ComplianceAlert.objects.get()
    assert alert.distributor_id == top.pk
    assert alert.details == {"commission_fen": 495, "upper_tiers_fen": 495,
                             "upper_share_pct": 100, "direct_recruits": 2,
                             "own_sales_fen": 0, "window_days": 90}
    assert idle.pk != alert.distributor_id


def test_a_buyer_earning_an_upper_tier_of_their_own_order(plan, sku):
    top, bottom = make_chain(2)
    # top shops through their own recruit's link: bottom is tier 1, top earns tier 2.
    order = pay(place(top.shopper, (sku, 1), referrer=bottom))

    assert compliance_monitor(now=soon()) == {"self_dealing": 1}
    alert = ComplianceAlert.objects.get()
    assert alert.distributor_id == bottom.pk
    assert alert.details["orders"] == [{
        "number": order.number, "buyer_distributor_id": top.pk, "goods_fen": 9900,
        "direction": "upline", "buyer_commission_fen": 495}]
    # The next night, the same order raises nothing new.
    assert compliance_monitor(now=soon() + dt.timedelta(days=1)) == {}


def test_a_distributor_whose_sales_come_from_their_own_downline(plan, sku):
    top, recruit = make_chain(2)
    pay(place(recruit.shopper, (sku, 1), referrer=top))
    assert compliance_monitor(now=soon()) == {}  # one order is not a pattern
    pay(place(recruit.shopper, (sku, 1), referrer=top))
    assert compliance_monitor(now=soon()) == {"self_dealing": 1}
    alert = ComplianceAlert.objects.get()
    assert alert.distributor_id == top.pk
    assert alert.details["downline_share_pct"] == 100
    assert [o["direction"] for o in alert.details["orders"]] == ["downline", "downline"]


def test_refunds_after_payout(rules, plan, sku):
    rules.commission_hold_days = 0
    rules.statement_review_from_fen = 10**9
    rules.save()
    (distributor,) = make_chain(1)
    buyer = make_shopper()
    with time_machine.travel(at(2026, 10, 10), tick=False):
        order = pay(place(buyer, (sku, 1), referrer=distributor))
        order_ship(order=order, staff_user_id=1, carrier="SF", tracking_number="SF1")
        order_confirm_receipt(order=order, shopper=buyer)
    settlement.commissions_release(now=at(2026, 10, 11))
    settlement.statements_generate(dt.date(2026, 10, 1), now=at(2026, 11, 2))
    with time_machine.travel(at(2026, 11, 3), tick=False):
        case = after_sales_request(order=order, shopper_id=buyer.pk, reason="damaged",
                                   items=[RefundItem(order_line_id=order.lines.get().pk,
                                                     quantity=1)])
        after_sales_approve(request_id=case.pk, staff_user_id=1, note="ok")
        after_sales_mark_refunded(request_id=case.pk, actor=Actor.wechat(), reference="R1")

    found = compliance_monitor(now=at(2026, 11, 4), thresholds=Thresholds(refund_min_fen=100))
    assert found == {"refund_after_payout": 1}
    alert = ComplianceAlert.objects.get()
    assert (alert.distributor_id, alert.day) == (distributor.pk, dt.date(2026, 11, 4))
    assert alert.details["reversed_after_payout_fen"] == 990
    assert alert.details["share_pct"] == 100


def test_a_quiet_mall_raises_nothing(plan, sku):
    make_chain(3)
    pay(place(make_shopper(), (sku, 1), referrer=Distributor.objects.first()))
    assert compliance_monitor(now=soon()) == {}


# ------------------------------------------------------------------ staff


def test_resolving_an_alert(rules):
    make_chain(5)
    compliance_monitor(now=soon(), thresholds=Thresholds(max_depth=2))
    alert = ComplianceAlert.objects.get()
    assert compliance.alerts_open_count() == {"open": 1, "by_kind": {"tree_depth": 1}}

    with pytest.raises(DistributionInvalid) as refused:
        compliance.alert_resolve(alert_id=alert.pk, staff_id=7, note=" ")
    assert "note" in refused.value.fields
    with pytest.raises(AlertNotFound):
        compliance.alert_resolve(alert_id=999_999, staff_id=7, note="checked")
    resolved = compliance.alert_resolve(alert_id=alert.pk, staff_id=7, note="a family shop")
    assert resolved.resolved_by_id == 7
    assert resolved.details["resolution"]["note"] == "a family shop"
    with pytest.raises(IllegalDistributionTransition):
        compliance.alert_resolve(alert_id=alert.pk, staff_id=7, note="again")
    assert compliance.alerts_open_count() == {"open": 0, "by_kind": {}}


def test_the_report(plan, sku):
    levels.level_create(data={"name": "普通", "rank": 0})
    Level.objects.create(name="旧团长", rank=9, conditions={"direct_recruits": 5})
    top, bottom = make_chain(2)
    pay(place(make_shopper(), (sku, 1), referrer=bottom))
    compliance_monitor(now=soon(), thresholds=Thresholds(max_depth=0))

    report = compliance.compliance_report()

    assert report["rules"]["plan"]["tiers"] == 2
    assert report["rules"]["plan"]["rates_bp"] == [1000, 500]
    assert report["rules"]["plan"]["team_reward"]["opted_in"] is False
    assert report["rules"]["commission_cap_bp"] == 3000
    checks = {check["key"]: check["status"] for check in report["checks"]}
    assert checks == {"no_per_head_reward": "ok", "joining_free": "ok",
                      "recruit_conditions": "fail", "tiers_capped": "ok",
                      "commission_cap": "ok", "team_reward": "ok"}
    assert report["tree"]["distributors"] == 2 and report["tree"]["max_depth"] == 1
    assert report["tree"]["depth_histogram"] == [{"depth": 0, "count": 1},
                                                 {"depth": 1, "count": 1}]
    assert report["alerts"]["open"] == 1
    assert report["commission_by_tier"][:2] == [
        {"kind": "sale", "tier": 1, "count": 1, "amount_fen": 990, "reversed_fen": 0,
         "net_fen": 990},
        {"kind": "sale", "tier": 2, "count": 1, "amount_fen": 495, "reversed_fen": 0,
         "net_fen": 495},
    ]


# ------------------------------------------------------------------ platform admins


@pytest.fixture
def alerted_mall(mall, rules):
    make_chain(4)
    compliance_monitor(now=soon(), thresholds=Thresholds(max_depth=2))
    return mall


def test_the_command_lists_open_alerts_per_mall(alerted_mall, other_mall):
    out = io.StringIO()
    call_command("compliance_report", "--all-malls", stdout=out)
    text = out.getvalue()
    assert f"{alerted_mall.slug} ({alerted_mall.schema_name}): 1 open (tree_depth 1)" in text
    assert f"{other_mall.slug} ({other_mall.schema_name}): 0 open" in text
    assert "[tree_depth] The branch from" in text
    assert text.rstrip().endswith("1 open alert(s) in 2 mall(s).")

    out = io.StringIO()
    call_command("compliance_report", "--schema", other_mall.schema_name, stdout=out)
    assert out.getvalue().splitlines() == [
        f"{other_mall.slug} ({other_mall.schema_name}): 0 open",
        "0 open alert(s) in 1 mall(s)."]
    with pytest.raises(CommandError):
        call_command("compliance_report", "--schema", "m_nobody")


def test_platform_admins_see_open_alerts_of_every_mall(alerted_mall, other_mall):
    connection.set_schema_to_public()
    admin = get_user_model().objects.create_superuser(
        username="root@platform.test", email="root@platform.test", password="x-Admin-2345")
    client = host_client("localhost")
    url = "/admin/tenants/merchant/compliance/"
    assert client.get(url).status_code == 302  # to the admin's sign-in

    client.force_login(admin)
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert f'id="mall-{alerted_mall.slug}"' in html and "1 open" in html
    assert f'id="mall-{other_mall.slug}"' not in html  # nothing open there
