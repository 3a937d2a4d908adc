"""Every money state machine, every pair of states: a legal move changes the row, writes one
history row (typed actor, from, to, why, reference) and publishes `<name>.<to>`; an illegal
move is a 409 that changes nothing, writes nothing and publishes nothing. History rows are
append-only in the database."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core import events
from core.actors import Actor, ActorKind
from storefront.distribution.models import Commission, Distributor, Statement, Withdrawal
from storefront.distribution.transitions import (
    COMMISSION_MACHINE,
    DISTRIBUTOR_MACHINE,
    STATEMENT_MACHINE,
    WITHDRAWAL_MACHINE,
)
from storefront.orders.models import AfterSalesRequest
from storefront.orders.services import CheckoutItem, order_place
from storefront.orders.transitions import AFTER_SALES_MACHINE, ORDER_MACHINE
from storefront.payments.models import (
    Payment,
    ProfitShare,
    ProfitShareReturn,
    Refund,
    Transfer,
)
from storefront.payments.transitions import (
    PAYMENT_MACHINE,
    PROFIT_SHARE_MACHINE,
    REFUND_MACHINE,
    SHARE_RETURN_MACHINE,
    TRANSFER_MACHINE,
)
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory
from tests.factories.shoppers import AddressFactory

_numbers = itertools.count(1)


def _order():
    address = AddressFactory()
    return order_place(
        shopper=address.shopper, items=[CheckoutItem(sku_id=SkuFactory().pk, quantity=1)],
        address_id=address.pk,
    )


def _case():
    return AfterSalesRequest.objects.create(order=_order(), reason="other", refund_fen=1)


def _payment(order=None):
    order = order or _order()
    return Payment.objects.create(
        order=order, out_trade_no=f"T{next(_numbers):08d}", channel="native",
        sub_mchid="1900000109", amount_fen=order.total_fen,
        expires_at=timezone.now() + dt.timedelta(minutes=30),
    )


def _refund():
    # Approved, as a case is when its refund exists: the refund's success closes it.
    case = AfterSalesRequest.objects.create(
        order=_order(), reason="other", refund_fen=1, status="approved"
    )
    return Refund.objects.create(
        after_sales=case, payment=_payment(case.order), out_refund_no=f"R{next(_numbers)}",
        amount_fen=1,
    )


def _share():
    return ProfitShare.objects.create(
        payment=_payment(), out_order_no=f"S{next(_numbers)}", kind="share",
        sub_mchid="1900000109",
    )


def _share_return():
    return ProfitShareReturn.objects.create(
        share=_share(), out_return_no=f"B{next(_numbers)}", return_mchid="1900009999",
        amount_fen=1, description="back",
    )


def _transfer():
    return Transfer.objects.create(
        out_bill_no=f"TB{next(_numbers)}", sub_mchid="1900000109", appid="wxsp",
        openid="o-payee", amount_fen=100, remark="佣金",
    )


def _distributor():
    return Distributor.objects.create(shopper=AddressFactory().shopper, joined_via="request")


def _commission():
    order = _order()
    return Commission.objects.create(
        order=order, order_line=order.lines.get(), distributor=_distributor(), tier=1,
        base_fen=100, rate_bp=1000, amount_fen=10, plan_version=1, earned_at=timezone.now(),
    )


def _statement():
    return Statement.objects.create(distributor=_distributor(), month=dt.date(2026, 10, 1),
                                    gross_fen=0, net_fen=0, status="in_review")


def _withdrawal():
    return Withdrawal.objects.create(
        distributor=_distributor(), amount_fen=100, net_fen=100, status="reviewing",
        out_bill_no=f"WD{next(_numbers)}", openid="o-payee",
    )


MACHINES = {
    "order": (ORDER_MACHINE, _order),
    "after_sales": (AFTER_SALES_MACHINE, _case),
    "payment": (PAYMENT_MACHINE, _payment),
    "refund": (REFUND_MACHINE, _refund),
    "profit_share": (PROFIT_SHARE_MACHINE, _share),
    "share_return": (SHARE_RETURN_MACHINE, _share_return),
    "transfer": (TRANSFER_MACHINE, _transfer),
    "distributor": (DISTRIBUTOR_MACHINE, _distributor),
    "commission": (COMMISSION_MACHINE, _commission),
    "statement": (STATEMENT_MACHINE, _statement),
    "withdrawal": (WITHDRAWAL_MACHINE, _withdrawal),
}


@pytest.fixture
def catalogue(mall):
    ShippingTemplateFactory(default_fee_fen=0, free_above_fen=0)


@pytest.mark.parametrize("name", list(MACHINES))
def test_every_move_is_audited_or_refused_by_the_map(catalogue, name):
    machine, make = MACHINES[name]
    states = list(machine.moves)
    actor = Actor.staff(7)
    checked = {"legal": 0, "illegal": 0}
    for from_status, to_status in itertools.product(states, states):
        row = make()
        machine.model.objects.filter(pk=row.pk).update(status=from_status)
        history = machine.history.objects.filter(**{machine.subject_field: row})
        before = history.count()
        with events.recorded() as published:
            if machine.can_move(from_status, to_status):
                machine.transition(pk=row.pk, to_status=to_status, actor=actor,
                                   reason="because", reference="REF-1")
                checked["legal"] += 1
                row.refresh_from_db()
                assert row.status == to_status
                change = history.order_by("-id").first()
                assert history.count() == before + 1
                assert (change.from_status, change.to_status, change.actor_kind,
                        change.actor_id, change.reason, change.reference) == (
                    from_status, to_status, ActorKind.STAFF, 7, "because", "REF-1")
                # Its own event first (subscribers may publish consequences after it).
                own = [(e.name, e.data["id"], e.data["from_status"]) for e in published
                       if e.name.startswith(f"{machine.name}.")]
                assert own == [(f"{machine.name}.{to_status.lower()}", row.pk, from_status)]
                assert published[0].subject.pk == row.pk
            else:
                with pytest.raises(machine.error) as refused, transaction.atomic():
                    machine.transition(pk=row.pk, to_status=to_status, actor=actor)
                checked["illegal"] += 1
                assert refused.value.status == 409
                row.refresh_from_db()
                assert row.status == from_status
                assert history.count() == before
                assert published == []
    assert checked["legal"] > 0 and checked["illegal"] > 0


@pytest.mark.parametrize("name", list(MACHINES))
def test_history_rows_cannot_be_rewritten(catalogue, name):
    machine, make = MACHINES[name]
    row = make()
    to_status = next(iter(machine.moves[row.status]))
    machine.transition(pk=row.pk, to_status=to_status, actor=Actor.system())
    table = machine.history._meta.db_table
    for statement in (f'UPDATE "{table}" SET reason = %s', f'DELETE FROM "{table}"'):
        with (pytest.raises(DatabaseError, match="append-only"), transaction.atomic(),
              connection.cursor() as cursor):
            cursor.execute(statement, ["rewritten"] if "UPDATE" in statement else [])
    assert machine.history.objects.filter(reason="rewritten").count() == 0


def test_a_transition_needs_a_typed_actor(catalogue):
    order = _order()
    with pytest.raises(TypeError):
        ORDER_MACHINE.transition(pk=order.pk, to_status="cancelled", actor="shopper")
    with pytest.raises(ValueError, match="carry an id"):
        Actor(ActorKind.STAFF)
    with pytest.raises(ValueError, match="carry an id"):
        Actor(ActorKind.SYSTEM, 3)
