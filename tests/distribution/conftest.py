"""A mall with a distribution programme: a plan, a chain of distributors, goods, buyers."""

from __future__ import annotations

import pytest

from core.actors import Actor
from storefront.distribution import plans, services
from storefront.distribution.models import DistributionSettings
from storefront.orders.services import CheckoutItem, order_mark_paid, order_place
from tests.conftest import ensure_pro_plan, move_to_plan
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory
from tests.factories.shoppers import AddressFactory


def make_plan(**fields):
    data = {"name": "标准", "tiers": 2, "rates_bp": [1000, 500], **fields}
    plan = plans.plan_create(data)
    return plans.plan_activate(plan_id=plan.pk)


def make_shopper(openid: str | None = None):
    shopper = AddressFactory().shopper
    if openid:
        shopper.wechat_openid = openid
        shopper.save(update_fields=["wechat_openid"])
    return shopper


def make_chain(length: int):
    """`length` distributors, each recruited by the one before: [top, …, bottom]."""
    chain = []
    for index in range(length):
        shopper = make_shopper(openid=f"o-dist-{index}-{shopper_count()}")
        code = chain[-1].invite_code if chain else ""
        chain.append(services.distributor_join(shopper=shopper, invite_code=code))
    return chain


_count = [0]


def shopper_count() -> int:
    _count[0] += 1
    return _count[0]


def pay(order):
    return order_mark_paid(order=order, actor=Actor.system())


def place(shopper, *items, referrer=None):
    return order_place(
        shopper=shopper, items=[CheckoutItem(sku_id=s.pk, quantity=q) for s, q in items],
        address_id=shopper.addresses.first().pk,
        referrer_code=referrer.shopper.share_code if referrer else None,
    )


@pytest.fixture
def mall(mall):
    """These tests are about distribution, not the plan's limits (tests/billing): the test
    mall here is on the plan that allows 3 tiers, levels, stage bonuses and team rewards."""
    move_to_plan(mall, ensure_pro_plan())
    return mall


@pytest.fixture
def rules(mall):
    settings = DistributionSettings.current()
    settings.binding_mode = "permanent"
    settings.save()
    return settings


@pytest.fixture
def sku(mall):
    ShippingTemplateFactory(default_fee_fen=1000, free_above_fen=0)
    return SkuFactory(price_fen=9900, stock=100)


@pytest.fixture
def plan(rules):
    return make_plan()
