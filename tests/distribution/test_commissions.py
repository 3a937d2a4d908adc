"""Commission arithmetic on real paid orders: the worked numbers of DESIGN §5 and the
issue, each through order_mark_paid → the order.paid subscriber → the ledger."""

from __future__ import annotations

import pytest

from storefront.distribution import plans
from storefront.distribution.errors import PlanInvalid
from storefront.distribution.models import (
    Commission,
    DistributionSettings,
    Level,
    OrderAttribution,
)
from storefront.distribution.withdrawals import withdrawable_fen
from storefront.ledger.models import AccountCode
from storefront.ledger.selectors import account_balance
from tests.distribution.conftest import make_chain, make_plan, make_shopper, pay, place
from tests.factories.catalog import SkuFactory

pytestmark = pytest.mark.django_db


def commissions_of(order):
    return {(c.tier, c.distributor_id): c.amount_fen
            for c in Commission.objects.filter(order_id=order.pk)}


def test_two_tiers_at_10_and_5_percent_of_what_the_line_paid(plan, sku):
    top, bottom = make_chain(2)
    buyer = make_shopper()
    order = pay(place(buyer, (sku, 1), referrer=bottom))

    assert order.shipping_fen == 1000 and order.total_fen == 10900
    assert commissions_of(order) == {(1, bottom.pk): 990, (2, top.pk): 495}
    first = Commission.objects.get(order_id=order.pk, tier=1)
    assert first.explanation["base_fen"] == 9900
    assert first.explanation["formula"] == "floor(9900 × 1000 / 10000)"
    assert first.plan_version == plan.version and first.status == "pending"
    attribution = OrderAttribution.objects.get(order=order)
    assert attribution.distributor_id == bottom.pk and attribution.plan_id == plan.pk
    # Dr commission expense 1,485, Cr each payable: nothing withdrawable yet.
    assert account_balance(code=AccountCode.COMMISSION_EXPENSE) == 1485
    assert account_balance(code=AccountCode.DISTRIBUTOR_PAYABLE,
                           party=f"dist:{bottom.pk}") == -990
    assert withdrawable_fen(bottom.pk) == 0


def test_floor_rounding_leaves_the_remainder_with_the_merchant(rules):
    make_plan(rates_bp=[1500], tiers=1)
    (distributor,) = make_chain(1)
    cheap = SkuFactory(price_fen=333, stock=5)
    order = pay(place(make_shopper(), (cheap, 1), referrer=distributor))
    assert commissions_of(order) == {(1, distributor.pk): 49}  # 49.95 → 49


def test_a_per_sku_fixed_amount_is_paid_per_unit_to_tier_1(plan):
    top, bottom = make_chain(2)
    fixed = SkuFactory(price_fen=9900, stock=10, commission_mode="fixed",
                       commission_fixed_fen=500)
    order = pay(place(make_shopper(), (fixed, 3), referrer=bottom))
    assert commissions_of(order) == {(1, bottom.pk): 1500}
    assert "fixed 500 fen per unit" in Commission.objects.get(order_id=order.pk).explanation["rule"]


def test_a_no_commission_product_pays_nothing(plan):
    (distributor,) = make_chain(1)
    none = SkuFactory(price_fen=9900, stock=10, commission_mode="none")
    order = pay(place(make_shopper(), (none, 1), referrer=distributor))
    assert commissions_of(order) == {}


def test_self_purchase_pays_the_buyer_as_tier_1_only_when_the_plan_says_so(rules, sku):
    make_plan(self_purchase=True)
    top, me = make_chain(2)
    order = pay(place(me.shopper, (sku, 1)))
    assert commissions_of(order) == {(1, me.pk): 990, (2, top.pk): 495}

    make_plan(self_purchase=False)
    order = pay(place(me.shopper, (sku, 1)))
    assert commissions_of(order) == {}


def test_a_chain_of_5_with_the_cap_at_2_pays_the_two_nearest(plan, sku):
    chain = make_chain(5)
    order = pay(place(make_shopper(), (sku, 1), referrer=chain[-1]))
    assert commissions_of(order) == {(1, chain[-1].pk): 990, (2, chain[-2].pk): 495}


def test_three_tiers_is_the_platform_cap(rules, sku):
    rules.commission_cap_bp = 5000
    rules.save()
    make_plan(tiers=3, rates_bp=[1000, 500, 200])
    chain = make_chain(5)
    order = pay(place(make_shopper(), (sku, 1), referrer=chain[-1]))
    assert commissions_of(order) == {(1, chain[-1].pk): 990, (2, chain[-2].pk): 495,
                                     (3, chain[-3].pk): 198}


def test_a_frozen_distributor_earns_nothing_on_new_orders(plan, sku):
    from storefront.distribution.services import distributor_freeze

    top, bottom = make_chain(2)
    distributor_freeze(distributor_id=top.pk, staff_id=1, reason="under investigation")
    order = pay(place(make_shopper(), (sku, 1), referrer=bottom))
    assert commissions_of(order) == {(1, bottom.pk): 990}


def test_rates_by_level_and_a_stage_bonus(rules, sku):
    Level.objects.create(name="普通", rank=0, rates_bp=[500, 200])
    gold = Level.objects.create(name="黄金", rank=2, rates_bp=[1200, 300],
                                conditions={"monthly_gmv_fen": 5_000_000})
    make_plan(rate_source="levels", rates_bp=[],
              stage_bonuses=[{"monthly_sales_fen": 9900, "bonus_bp": 300}])
    top, bottom = make_chain(2)
    bottom.level = gold
    bottom.save(update_fields=["level"])

    first = pay(place(make_shopper(), (sku, 1), referrer=bottom))
    assert commissions_of(first) == {(1, bottom.pk): 1188, (2, top.pk): 198}
    # The first sale passed the stage: the next one earns 12% + 3%.
    second = pay(place(make_shopper(), (sku, 1), referrer=bottom))
    assert commissions_of(second) == {(1, bottom.pk): 1485, (2, top.pk): 198}
    assert Commission.objects.get(order_id=second.pk, tier=1).explanation["stage_bonus_bp"] == 300


def test_the_mall_cap_trims_the_farthest_tier_first(rules):
    rules.commission_cap_bp = 1200
    rules.save()
    plan = plans.plan_create({"name": "p", "tiers": 2, "rates_bp": [1000, 200]})
    plans.plan_activate(plan_id=plan.pk)
    top, bottom = make_chain(2)
    rated = SkuFactory(price_fen=10000, stock=5, commission_mode="rates",
                       commission_rates_bp=[1000, 1000])
    order = pay(place(make_shopper(), (rated, 1), referrer=bottom))
    assert commissions_of(order) == {(1, bottom.pk): 1000, (2, top.pk): 200}
    assert Commission.objects.get(order_id=order.pk, tier=2).explanation["capped_by_fen"] == 800


def test_a_replayed_payment_event_accrues_nothing_twice(plan, sku):
    from storefront.distribution.commissions import order_commissions_accrue

    (distributor,) = make_chain(1)
    order = pay(place(make_shopper(), (sku, 1), referrer=distributor))
    order_commissions_accrue(order)
    assert Commission.objects.filter(order_id=order.pk).count() == 1
    assert account_balance(code=AccountCode.COMMISSION_EXPENSE) == 990


# Plans: saving validates and explains ---------------------------------------------------


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"tiers": 4, "rates_bp": [100, 100, 100, 100]}, "tiers", "at most 3 tiers"),
    ({"rates_bp": [2500, 1000]}, "rates_bp", "over this mall's commission cap of 30%"),
    ({"per_recruit_fen": 1000}, "per_recruit_fen", "《禁止传销条例》 art. 7"),
    ({"entry_fee_fen": 9900}, "entry_fee_fen", "entry fee"),
    ({"team_reward": {"rate_bp": 200, "cap_fen": 1000}}, "team_reward", "legal risk"),
    ({"rates_bp": [1000.5]}, "rates_bp", "whole basis points"),
])
def test_a_plan_that_breaks_a_rule_is_refused_with_its_reason(rules, data, field, words):
    with pytest.raises(PlanInvalid) as refused:
        plans.plan_create({"name": "bad", "tiers": 2, "rates_bp": [1000, 500], **data})
    assert words in " ".join(refused.value.fields[field])


def test_profit_sharing_route_is_held_to_the_sub_merchants_ratio(rules):
    rules.commission_cap_bp = 5000
    rules.save()
    with pytest.raises(PlanInvalid) as refused:
        plans.plan_create({"name": "share", "tiers": 2, "rates_bp": [2500, 1000],
                           "payout_route": "profit_sharing"})
    assert "profit-sharing ratio of 30%" in " ".join(refused.value.fields["rates_bp"])


def test_the_preview_answers_what_each_tier_would_earn(rules):
    answer = plans.plan_preview({"name": "p", "tiers": 2, "rates_bp": [1000, 500]},
                                lines=[{"paid_fen": 9900, "quantity": 1},
                                       {"paid_fen": 333, "quantity": 1}])
    assert answer["tiers"] == [{"tier": 1, "amount_fen": 990 + 33},
                               {"tier": 2, "amount_fen": 495 + 16}]


def test_a_team_reward_is_opt_in_capped_and_raises_a_compliance_alert(rules, sku):
    from storefront.distribution.models import ComplianceAlert

    Level.objects.create(name="普通", rank=0, rates_bp=[])
    leader_level = Level.objects.create(name="团长", rank=3, rates_bp=[])
    make_plan(team_reward={"rate_bp": 300, "cap_fen": 100, "min_level_rank": 3,
                           "acknowledge_legal_risk": True})
    chain = make_chain(4)
    chain[0].level = leader_level
    chain[0].save(update_fields=["level"])
    order = pay(place(make_shopper(), (sku, 1), referrer=chain[-1]))
    reward = Commission.objects.get(order_id=order.pk, kind="team_reward")
    assert (reward.distributor_id, reward.amount_fen) == (chain[0].pk, 100)  # 297 capped
    assert ComplianceAlert.objects.filter(kind="plan_risk").exists()
    assert DistributionSettings.current().commission_cap_bp == 3000
