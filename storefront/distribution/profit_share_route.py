"""The plan's alternative payout route (DESIGN §7): commission paid per order through
profit sharing (分账), instead of monthly statements and withdrawals.

- A payment asks WeChat to hold its funds only when its order may carry commission under a
  plan paying this way (`profit_sharing_wanted`, the payments app's registered policy).
- When an order's commissions become available (its after-sales window closed), they move
  to settled without a statement, and the ledger moves them from the earners' payables to
  what is owed to their WeChat accounts (`commission_share`/<order number>). After commit,
  one share per order pays each openid and unfreezes the rest to the merchant; the share's
  own ledger entry then pays those accounts from clearing.
- An order left with nothing to share (no commission, or all of it refunded) has its
  funds unfrozen when it completes.
- An earner without a WeChat openid, or an order whose payment was not held, keeps the
  commission in the statement route: the monthly statement takes it.

A refund after the share cannot be clawed back from a person's WeChat balance: its reversal
nets against the distributor's next statement, as in the other route.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction

from core import outbox
from core.actors import Actor
from storefront.distribution import binding, plans
from storefront.distribution.commissions import party
from storefront.distribution.models import (
    Commission,
    CommissionStatus,
    Distributor,
    DistributorStatus,
    PayoutRoute,
)
from storefront.distribution.transitions import COMMISSION_MACHINE
from storefront.ledger.models import AccountCode as A
from storefront.ledger.models import JournalLeg
from storefront.ledger.services import Leg, entry_post
from storefront.orders.models import Order
from storefront.payments import profit_sharing
from storefront.payments.models import Payment, PaymentStatus, ProfitShare

DESCRIPTION = "推广佣金"


def profit_sharing_wanted(order: Order) -> bool:
    """Hold this order's payment for profit sharing? Only under a plan paying per order,
    and only when someone can earn on it (a bound distributor, the order's referrer, or
    the buyer on self-purchase)."""
    plan = plans.plan_for_order(order)
    if plan is None or plan.payout_route != PayoutRoute.PROFIT_SHARING:
        return False
    active = Distributor.objects.filter(status=DistributorStatus.ACTIVE)
    if plan.self_purchase and active.filter(shopper_id=order.shopper_id).exists():
        return True
    if order.referrer_id and active.filter(shopper_id=order.referrer_id).exists():
        return True
    return binding.bound_distributor(order.shopper_id) is not None


def share_key(order: Order) -> str:
    return f"CS{order.number}"


def _held_payment(order_id: int) -> Payment | None:
    return Payment.objects.filter(order_id=order_id, status=PaymentStatus.SUCCEEDED,
                                  profit_sharing=True).first()


def orders_to_share() -> list[int]:
    """Orders under the profit-sharing route with commission just made available."""
    return list(
        Commission.objects.filter(status=CommissionStatus.AVAILABLE, statement__isnull=True,
                                  order__attribution__plan__payout_route=PayoutRoute.PROFIT_SHARING)
        .values_list("order_id", flat=True).distinct()
    )


def order_commissions_share(order_id: int) -> int:
    """Settle an order's available commissions by profit sharing; answers the fen to share
    (0 when the order stays in the statement route). Idempotent: a second call finds the
    commissions settled and the ledger entry posted."""
    with transaction.atomic():
        order = Order.objects.get(pk=order_id)
        payment = _held_payment(order_id)
        if payment is None:
            return 0
        commissions = list(
            Commission.objects.select_for_update().select_related("distributor__shopper")
            .filter(order_id=order_id, status=CommissionStatus.AVAILABLE,
                    statement__isnull=True).order_by("pk")
        )
        owed: dict[tuple[int, str], int] = defaultdict(int)
        for commission in commissions:
            openid = commission.distributor.shopper.wechat_openid
            kept = commission.amount_fen - commission.reversed_fen
            if not openid or kept <= 0:
                continue  # the monthly statement takes it
            owed[(commission.distributor_id, openid)] += kept
            COMMISSION_MACHINE.transition(
                pk=commission.pk, to_status=CommissionStatus.SETTLED, actor=Actor.system(),
                reason="paid by profit sharing", reference=share_key(order),
                changes={"shared_fen": kept},
            )
        if not owed:
            outbox.enqueue("storefront.distribution.tasks.unfreeze_unshared_order",
                           kwargs={"order_id": order_id})
            return 0
        entry_post(source="commission_share", source_key=order.number, order_id=order_id,
                   legs=share_legs(owed), memo=f"commission of {order.number} shared")
        outbox.enqueue("storefront.distribution.tasks.send_commission_share",
                       kwargs={"order_id": order_id})
    return sum(owed.values())


def expected_shares():
    """For ledger_check: the `commission_share` entry each shared order must have."""
    from storefront.ledger import checks

    owed_by_order: dict[tuple[str, int], dict] = defaultdict(lambda: defaultdict(int))
    rows = (Commission.objects.filter(shared_fen__gt=0)
            .values_list("order__number", "order_id", "distributor_id",
                         "distributor__shopper__wechat_openid", "shared_fen"))
    for number, order_id, distributor_id, openid, amount in rows.iterator(chunk_size=5000):
        owed_by_order[(number, order_id)][(distributor_id, openid)] += amount
    for (number, order_id), owed in owed_by_order.items():
        yield checks.ExpectedEntry(source_key=number, order_id=order_id, legs=share_legs(owed))


def share_legs(owed: dict[tuple[int, str], int]) -> list[Leg]:
    legs = []
    for (distributor_id, openid), amount in sorted(owed.items()):
        legs.append(Leg(A.DISTRIBUTOR_PAYABLE, amount, party(distributor_id)))
        legs.append(Leg(A.DISTRIBUTOR_PAYABLE, -amount, f"openid:{openid}"))
    return legs


def receivers_of(order: Order) -> list[tuple[str, int, str]]:
    """What the share pays: the openids credited by the order's `commission_share` entry
    (the ledger is the one record of it, so a retry sends the same receivers)."""
    legs = (JournalLeg.objects.filter(entry__source="commission_share",
                                      entry__source_key=order.number, amount_fen__lt=0)
            .values_list("account__party", "amount_fen").order_by("account__party"))
    return [(party_.removeprefix("openid:"), -amount, DESCRIPTION) for party_, amount in legs]


def send_share(order_id: int) -> ProfitShare | None:
    """The outbox task's work: ask WeChat to share (idempotent by out_order_no)."""
    order = Order.objects.get(pk=order_id)
    payment = _held_payment(order_id)
    receivers = receivers_of(order)
    if payment is None or not receivers:
        return None
    return profit_sharing.profit_share_create(
        payment=payment, out_order_no=share_key(order), receivers=receivers,
        unfreeze_unsplit=True,
    )


def unfreeze_if_unshared(order_id: int) -> ProfitShare | None:
    """Held funds that nothing will share go to the merchant: once no commission of the
    order is still waiting for its hold to end, and no share is on its way (a share
    unfreezes the rest itself)."""
    payment = _held_payment(order_id)
    if payment is None or ProfitShare.objects.filter(payment=payment).exists():
        return None
    order = Order.objects.get(pk=order_id)
    if receivers_of(order):
        return None  # the share is on its way
    waiting = (CommissionStatus.PENDING, CommissionStatus.FROZEN)
    if Commission.objects.filter(order_id=order_id, status__in=waiting).exists():
        return None
    return profit_sharing.profit_share_unfreeze(
        payment=payment, out_order_no=f"UF{payment.out_trade_no}",
        description="无分账，解冻给商户",
    )

