"""The plan's per-order payout route: commission paid by profit sharing at the simulator
once the after-sales hold is over, and held funds nothing shares unfrozen (DESIGN §7)."""

from __future__ import annotations

import pytest

from storefront.distribution import plans, profit_share_route, settlement
from storefront.distribution.models import Commission, DistributionSettings
from storefront.distribution.services import distributor_assign, distributor_freeze
from storefront.ledger.checks import ledger_check
from storefront.ledger.models import AccountCode
from storefront.ledger.selectors import account_balance
from storefront.orders.services import (
    CheckoutItem,
    order_confirm_receipt,
    order_place,
    order_ship,
)
from storefront.payments import profit_sharing, services
from storefront.payments.models import PaymentChannel, ProfitShare
from tests.factories.shoppers import ShopperFactory
from tests.payments.conftest import sim_pay, wait_for
from tests.payments.conftest import test_user_openid as user_openid


@pytest.fixture
def route(mall, paying_mall, sim, wechat_sim, wechat_settings):
    sim.simulator.callbacks.hold(True)  # no server here: states are fetched by query
    merchant, sku, shopper, address = paying_mall(mall)
    rules = DistributionSettings.current()
    rules.commission_hold_days = 0
    rules.save()
    plans.plan_activate(plan_id=plans.plan_create(
        {"name": "per order", "tiers": 1, "rates_bp": [1000],
         "payout_route": "profit_sharing"}).pk)
    bob = user_openid(wechat_sim[0], wechat_settings.WECHATPAY_SP_APPID, "bob")
    distributor = distributor_assign(shopper=ShopperFactory(wechat_openid=bob), staff_id=1)
    return {"sku": sku, "shopper": shopper, "address": address, "sim": sim, "bob": bob,
            "distributor": distributor}


def _paid_and_received(route):
    order = order_place(
        shopper=route["shopper"], items=[CheckoutItem(sku_id=route["sku"].pk, quantity=2)],
        address_id=route["address"].pk,
        referrer_code=route["distributor"].shopper.share_code,
    )
    start = services.payment_start(order=order, shopper=route["shopper"],
                                   channel=PaymentChannel.NATIVE)
    assert start.payment.profit_sharing  # held: a distributor may earn on it
    sim_pay(route["sim"], start.payment)
    assert services.payment_query(payment=start.payment)[1] == "applied"
    order_ship(order=order, staff_user_id=1, carrier="SF", tracking_number="SF1")
    return order_confirm_receipt(order=order, shopper=route["shopper"])


@pytest.mark.django_db
def test_commission_is_paid_by_profit_sharing_once_available(route):
    order = _paid_and_received(route)
    commission = Commission.objects.get(order_id=order.pk)
    assert (commission.amount_fen, commission.status) == (598, "frozen")

    assert settlement.commissions_settle_due()["released"] == 1
    commission.refresh_from_db()
    assert (commission.status, commission.shared_fen, commission.statement_id) == (
        "settled", 598, None)
    assert profit_share_route.receivers_of(order) == [(route["bob"], 598, "推广佣金")]

    share = profit_share_route.send_share(order.pk)  # the outbox task's work
    assert profit_share_route.send_share(order.pk).pk == share.pk  # a retry: the same
    finished = wait_for(lambda: (
        queried if (queried := profit_sharing.profit_share_query(share=share)[0]).status
        == "finished" else None))
    assert finished.amount_fen == 598
    # The distributor's payable was moved to bob's WeChat account and paid from clearing.
    assert account_balance(code=AccountCode.DISTRIBUTOR_PAYABLE,
                           party=f"dist:{route['distributor'].pk}") == 0
    assert account_balance(code=AccountCode.DISTRIBUTOR_PAYABLE,
                           party=f"openid:{route['bob']}") == 0
    assert ledger_check().ok, ledger_check().problems


@pytest.mark.django_db
def test_a_payment_nobody_can_earn_on_is_not_held(route):
    distributor_freeze(distributor_id=route["distributor"].pk, staff_id=1, reason="check")
    order = order_place(
        shopper=route["shopper"], items=[CheckoutItem(sku_id=route["sku"].pk, quantity=1)],
        address_id=route["address"].pk,
        referrer_code=route["distributor"].shopper.share_code,
    )
    start = services.payment_start(order=order, shopper=route["shopper"],
                                   channel=PaymentChannel.NATIVE)
    assert not start.payment.profit_sharing


@pytest.mark.django_db
def test_held_funds_nothing_can_share_are_unfrozen(route):
    """The earner never signed in with WeChat: no openid to share to. The commission stays
    for the monthly statement, and the held funds go back to the merchant."""
    from storefront.shoppers.models import Shopper

    Shopper.objects.filter(pk=route["distributor"].shopper_id).update(wechat_openid=None)
    order = _paid_and_received(route)
    settlement.commissions_settle_due()
    commission = Commission.objects.get(order_id=order.pk)
    assert (commission.status, commission.shared_fen) == ("available", 0)
    assert profit_share_route.receivers_of(order) == []

    unfrozen = profit_share_route.unfreeze_if_unshared(order.pk)
    assert unfrozen is not None and unfrozen.kind == "unfreeze"
    assert profit_share_route.unfreeze_if_unshared(order.pk) is None  # once
    assert not ProfitShare.objects.filter(kind="share").exists()
    assert ledger_check().ok, ledger_check().problems


@pytest.mark.django_db
def test_a_refund_after_the_share_nets_against_the_next_statement(route):
    """WeChat cannot claw a share back from a person: the reversal makes the balance
    negative, to be netted against later earnings, and the shared commission is not
    counted again."""
    from core.actors import Actor
    from storefront.distribution.withdrawals import withdrawable_fen
    from storefront.orders.after_sales import (
        RefundItem,
        after_sales_approve,
        after_sales_mark_refunded,
        after_sales_request,
    )

    DistributionSettings.objects.update(settlement="on_available")
    order = _paid_and_received(route)
    settlement.commissions_settle_due()
    assert Commission.objects.get(order_id=order.pk).shared_fen == 598

    case = after_sales_request(order=order, shopper_id=route["shopper"].pk, reason="damaged",
                               items=[RefundItem(order_line_id=order.lines.get().pk,
                                                 quantity=2)])
    after_sales_approve(request_id=case.pk, staff_user_id=1, note="ok")
    after_sales_mark_refunded(request_id=case.pk, actor=Actor.wechat(), reference="R1")
    assert Commission.objects.get(order_id=order.pk).status == "reversed"

    settlement.commissions_settle_due()
    assert withdrawable_fen(route["distributor"].pk) == -598
