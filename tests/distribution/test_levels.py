"""Levels and promotion (DESIGN §6): validated levels, figures from real paid orders in the
Asia/Shanghai month, promotion when an order completes and nightly, monthly demotion."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from core.actors import Actor
from core.models import OutboxMessage
from storefront.distribution import levels, services, tasks
from storefront.distribution.commissions import SHANGHAI
from storefront.distribution.errors import DistributionInvalid, LevelInUse, LevelNotFound
from storefront.distribution.models import Distributor, Level, LevelChange
from storefront.orders.after_sales import (
    RefundItem,
    after_sales_approve,
    after_sales_mark_refunded,
    after_sales_request,
)
from storefront.orders.services import order_complete_if_due, order_confirm_receipt, order_ship
from tests.distribution.conftest import make_chain, make_plan, make_shopper, pay, place
from tests.factories.catalog import SkuFactory

pytestmark = pytest.mark.django_db

OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)
YUAN = 100


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def ladder(plan):
    """普通 (start) → 白银 at ¥10,000 a month → 黄金 at ¥50,000 a month."""
    return [
        levels.level_create(data={"name": "普通", "rank": 0, "rates_bp": [1000, 500]}),
        levels.level_create(data={"name": "白银", "rank": 1, "rates_bp": [1200, 500],
                                  "conditions": {"monthly_gmv_fen": 10_000 * YUAN}}),
        levels.level_create(data={"name": "黄金", "rank": 2, "rates_bp": [1500, 500],
                                  "conditions": {"monthly_gmv_fen": 50_000 * YUAN}}),
    ]


@pytest.fixture
def big_sku(sku):
    return SkuFactory(price_fen=10_000 * YUAN, stock=100)


def sold(when: dt.datetime, distributor, sku, quantity: int):
    """An order of `quantity` × sku, attributed to `distributor`, paid at `when` and
    received a minute later."""
    buyer = make_shopper()
    with time_machine.travel(when, tick=False):
        order = pay(place(buyer, (sku, quantity), referrer=distributor))
    with time_machine.travel(when + dt.timedelta(minutes=1), tick=False):
        order_ship(order=order, staff_user_id=1, carrier="SF", tracking_number="SF1")
        order_confirm_receipt(order=order, shopper=buyer)
    return order


def completed(order, when: dt.datetime):
    with time_machine.travel(when, tick=False):
        assert order_complete_if_due(order_id=order.pk)
    return order


def level_of(distributor) -> str:
    distributor.refresh_from_db()
    return distributor.level.name


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"name": "", "rank": 3}, "name", "name"),
    ({"name": "钻石", "rank": -1}, "rank", "0 to 100"),
    ({"name": "钻石", "rank": "3"}, "rank", "whole number"),
    ({"name": "钻石", "rank": 1}, "rank", "Another level has rank 1"),
    ({"name": "钻石", "rank": 3, "rates_bp": [100, 100, 100, 100]}, "rates_bp", "up to 3"),
    ({"name": "钻石", "rank": 3, "rates_bp": [10_001]}, "rates_bp", "0 to 10000"),
    ({"name": "钻石", "rank": 3, "rates_bp": [1.5]}, "rates_bp", "0 to 10000"),
    ({"name": "钻石", "rank": 3, "conditions": {"fans": 3}}, "conditions", "Unknown"),
    ({"name": "钻石", "rank": 3, "conditions": {"monthly_gmv_fen": -1}}, "conditions",
     "whole number from 0"),
    ({"name": "钻石", "rank": 3, "conditions": [1]}, "conditions", "object"),
    ({"name": "钻石", "rank": 3, "match_all": "yes"}, "match_all", "yes or no"),
    ({"name": "钻石", "rank": 3, "per_recruit_fen": 100}, "per_recruit_fen", "Unknown"),
])
def test_bad_levels_are_refused_naming_the_field(ladder, data, field, words):
    with pytest.raises(DistributionInvalid) as refused:
        levels.level_create(data=data)
    assert words in " ".join(refused.value.fields[field])
    assert Level.objects.count() == 3


@pytest.mark.parametrize("conditions, match_all", [
    ({"direct_recruits": 10}, True),  # recruits alone
    ({"direct_recruits": 10, "own_purchases_fen": 100_000}, True),  # buying to rank up
    ({"direct_recruits": 10, "team_sales_fen": 0}, True),  # a sales condition of nothing
    ({"direct_recruits": 10, "monthly_gmv_fen": 100_000}, False),  # either one would do
])
def test_a_recruit_count_needs_a_sales_condition_that_must_also_hold(rules, conditions,
                                                                     match_all):
    with pytest.raises(DistributionInvalid) as refused:
        levels.level_create(data={"name": "团长", "rank": 5, "conditions": conditions,
                                  "match_all": match_all})
    assert "《禁止传销条例》 art. 7" in refused.value.fields["conditions"][0]
    assert not Level.objects.exists()


def test_recruits_together_with_team_sales_make_a_team_leader(rules):
    leader = levels.level_create(data={
        "name": "团长", "rank": 5, "match_all": True,
        "conditions": {"direct_recruits": 10, "team_sales_fen": 100_000 * YUAN}})
    assert leader.conditions == {"direct_recruits": 10, "team_sales_fen": 10_000_000}


def test_a_level_saved_before_the_rule_never_promotes_on_recruits_alone(rules):
    Level.objects.create(name="普通", rank=0)
    Level.objects.create(name="团长", rank=5, conditions={"direct_recruits": 2})
    (top,) = make_chain(1)
    for _ in range(3):
        services.distributor_join(shopper=make_shopper(), invite_code=top.invite_code)
    assert levels.distributor_figures(top).direct_recruits == 3
    assert levels.promote(top.pk) is None
    assert level_of(top) == "普通"


def test_update_and_delete(ladder):
    silver = ladder[1]
    updated = levels.level_update(level_id=silver.pk, data={"name": "银牌"})
    assert (updated.name, updated.rank) == ("银牌", 1)
    with pytest.raises(DistributionInvalid) as refused:
        levels.level_update(level_id=silver.pk, data={"rank": 2})
    assert "rank" in refused.value.fields
    with pytest.raises(LevelNotFound):
        levels.level_update(level_id=999_999, data={"name": "x"})
    (distributor,) = make_chain(1)  # starts on 普通
    with pytest.raises(LevelInUse):
        levels.level_delete(level_id=ladder[0].pk)
    levels.level_delete(level_id=silver.pk)
    assert list(Level.objects.values_list("name", flat=True)) == ["普通", "黄金"]


def test_rates_of_a_plan_by_level_stay_under_the_malls_cap(rules):
    levels.level_create(data={"name": "普通", "rank": 0, "rates_bp": [1000, 500]})
    make_plan(rate_source="levels", rates_bp=[])
    with pytest.raises(DistributionInvalid) as refused:
        levels.level_create(data={"name": "黄金", "rank": 2, "rates_bp": [2500, 1000]})
    assert "commission cap of 30%" in refused.value.fields["rates_bp"][0]
    assert Level.objects.count() == 1


# ------------------------------------------------------------------ figures


def test_monthly_gmv_is_the_shanghai_month_less_refunds(ladder, big_sku):
    (distributor,) = make_chain(1)
    # 2026-10-31 23:30 in Shanghai is still October; 00:30 on 1 November is not.
    sold(at(2026, 10, 31, 23, 30), distributor, big_sku, 2)
    refunded = sold(at(2026, 11, 1, 0, 30), distributor, big_sku, 3)
    line = refunded.lines.get()
    with time_machine.travel(at(2026, 11, 2), tick=False):
        case = after_sales_request(order=refunded, shopper_id=refunded.shopper_id,
                                   items=[RefundItem(order_line_id=line.pk, quantity=1)],
                                   reason="damaged")
        after_sales_approve(request_id=case.pk, staff_user_id=1, note="ok")
        after_sales_mark_refunded(request_id=case.pk, actor=Actor.wechat(), reference="R1")
    tasks.count_attributed_sale(refunded.pk)

    assert levels.distributor_figures(distributor, OCT).monthly_gmv_fen == 20_000 * YUAN
    november = levels.distributor_figures(distributor, NOV)
    assert november.monthly_gmv_fen == 20_000 * YUAN  # 30,000 less 10,000 refunded
    assert november.own_purchases_fen == 0


def test_own_purchases_direct_recruits_and_team_sales(ladder, big_sku):
    top, middle, bottom = make_chain(3)
    order = sold(at(2026, 10, 10), bottom, big_sku, 1)
    tasks.count_attributed_sale(order.pk)
    with time_machine.travel(at(2026, 10, 11), tick=False):
        pay(place(top.shopper, (big_sku, 1), referrer=None))

    figures = levels.distributor_figures(top, OCT)
    assert figures.own_purchases_fen == 10_000 * YUAN
    assert figures.direct_recruits == 1
    assert figures.team_sales_fen == 10_000 * YUAN  # bottom's sale, two levels down
    assert figures.monthly_gmv_fen == 0 and figures.total_gmv_fen == 0


# ------------------------------------------------------------------ promotion


def test_promotion_by_monthly_gmv_when_the_order_completes(ladder, big_sku):
    """The issue's example: monthly GMV ≥ ¥50,000 → 黄金."""
    (distributor,) = make_chain(1)
    assert level_of(distributor) == "普通"
    first = sold(at(2026, 10, 3, 10), distributor, big_sku, 4)  # ¥40,000
    completed(first, at(2026, 10, 12))
    assert OutboxMessage.objects.filter(task="storefront.distribution.tasks.promote_after_order",
                                        kwargs={"order_id": first.pk}).exists()
    with time_machine.travel(at(2026, 10, 12, 0, 1), tick=False):
        assert tasks.promote_after_order(first.pk) == ladder[1].pk
    assert level_of(distributor) == "白银"

    second = sold(at(2026, 10, 20, 10), distributor, big_sku, 1)  # ¥50,000 this month
    completed(second, at(2026, 10, 29))
    with time_machine.travel(at(2026, 10, 29, 0, 1), tick=False):
        assert tasks.promote_after_order(second.pk) == ladder[2].pk
        assert tasks.promote_after_order(second.pk) is None  # a second run changes nothing
    assert level_of(distributor) == "黄金"
    changes = list(LevelChange.objects.filter(distributor=distributor)
                   .values_list("to_level__name", "reason", "actor_kind"))
    assert changes == [
        ("白银", "promoted to 白银: monthly_gmv_fen 4000000 ≥ 1000000 (2026-10)", "system"),
        ("黄金", "promoted to 黄金: monthly_gmv_fen 5000000 ≥ 5000000 (2026-10)", "system"),
    ]


def test_last_months_sales_count_when_their_order_completes_next_month(ladder, big_sku):
    (distributor,) = make_chain(1)
    order = sold(at(2026, 10, 31, 22), distributor, big_sku, 5)
    completed(order, at(2026, 11, 9))
    with time_machine.travel(at(2026, 11, 9, 0, 1), tick=False):
        tasks.promote_after_order(order.pk)
    assert level_of(distributor) == "黄金"


def test_no_promotion_for_a_frozen_distributor_nor_downwards(ladder, big_sku):
    (distributor,) = make_chain(1)
    sold(at(2026, 10, 3), distributor, big_sku, 5)
    Distributor.objects.filter(pk=distributor.pk).update(status="frozen")
    with time_machine.travel(at(2026, 10, 20), tick=False):
        assert levels.promote(distributor.pk) is None
    Distributor.objects.filter(pk=distributor.pk).update(status="active", level=ladder[2])
    with time_machine.travel(at(2027, 3, 20), tick=False):
        assert levels.promote(distributor.pk) is None  # nothing sold: stays 黄金
    assert level_of(distributor) == "黄金"


def test_match_any(rules):
    levels.level_create(data={"name": "普通", "rank": 0})
    levels.level_create(data={"name": "达人", "rank": 1, "match_all": False,
                              "conditions": {"total_gmv_fen": 10**6, "team_sales_fen": 10**6}})
    (distributor,) = make_chain(1)
    Distributor.objects.filter(pk=distributor.pk).update(sales_fen=10**6)
    assert levels.promote(distributor.pk).name == "达人"
    assert LevelChange.objects.get(distributor=distributor).reason.startswith(
        "promoted to 达人: total_gmv_fen 1000000 ≥ 1000000")


def test_the_nightly_run_promotes_everyone_once(ladder, big_sku):
    first, second, idle = make_chain(3)
    sold(at(2026, 10, 3), first, big_sku, 5)
    sold(at(2026, 10, 4), second, big_sku, 1)
    with time_machine.travel(at(2026, 10, 5, 2, 30), tick=False):
        assert tasks.promote_all() == 2
        assert tasks.promote_all() == 0
    assert [level_of(d) for d in (first, second, idle)] == ["黄金", "白银", "普通"]


# ------------------------------------------------------------------ monthly demotion


def test_monthly_review_moves_down_who_no_longer_meets_a_level(ladder, big_sku):
    levels.level_update(level_id=ladder[2].pk, data={"demote_monthly": True})
    kept, dropped, idle = make_chain(3)
    for distributor in (kept, dropped):
        sold(at(2026, 10, 3), distributor, big_sku, 5)
    with time_machine.travel(at(2026, 10, 5), tick=False):
        tasks.promote_all()
    sold(at(2026, 11, 3), kept, big_sku, 5)
    sold(at(2026, 11, 3), dropped, big_sku, 2)  # ¥20,000 in November: 白银
    with time_machine.travel(at(2026, 12, 1, 1), tick=False):
        assert tasks.review_levels_monthly() == 1
        assert tasks.review_levels_monthly() == 0
    assert [level_of(d) for d in (kept, dropped, idle)] == ["黄金", "白银", "普通"]
    change = LevelChange.objects.filter(distributor=dropped).last()
    assert change.reason == ("monthly review 2026-11: 黄金 no longer met "
                             "(monthly_gmv_fen 2000000 < 5000000)")


def test_the_nightly_run_reads_no_figures_of_someone_at_the_top(ladder,
                                                                django_assert_num_queries):
    (distributor,) = make_chain(1)
    Distributor.objects.filter(pk=distributor.pk).update(level=ladder[2])
    every_level = list(Level.objects.all())
    with django_assert_num_queries(1):  # the distributor's row, with their level
        assert levels.promote(distributor.pk, all_levels=every_level) is None
