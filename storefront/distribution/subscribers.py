"""What the distribution engine does when the rest of the mall reports something.

In-transaction subscribers run inside the change that published the event, so an order
is never paid without its commissions, nor refunded without their reversal."""

from __future__ import annotations

from core import events, outbox
from core.actors import Actor
from storefront.distribution import binding, commissions, services
from storefront.distribution.models import Distributor, DistributorStatus, OrderAttribution
from storefront.payments.models import Payment, PaymentStatus


def _bind_through_referrer(order) -> None:
    """An order placed through a distributor's link touches the buyer's binding, when it
    is paid: the visit through the link touched it already (storefront.web), so checkout
    itself does no distribution work, and an unpaid order binds nobody."""
    if not order.referrer_id:
        return
    distributor = Distributor.objects.filter(shopper_id=order.referrer_id,
                                             status=DistributorStatus.ACTIVE).first()
    if distributor is not None:
        binding.binding_touch(shopper=order.shopper, distributor=distributor, source="order",
                              actor=Actor.shopper(order.shopper_id), paying_order_id=order.pk)


@events.subscriber("order.paid")
def accrue_commissions(event: events.DomainEvent) -> None:
    """Attribute the order and accrue its commissions, in the payment's transaction. An
    attributed sale is then added to its distributor's totals after commit (a leader's
    team totals read them), off the payment's transaction so the distributor's row is not
    a hot row of every payment; an order nobody brought queues nothing."""
    order = event.subject
    _bind_through_referrer(order)
    attribution = commissions.order_commissions_accrue(order)
    services.distributor_enroll_buyer(shopper_id=order.shopper_id,
                                      referrer=attribution.distributor)
    if attribution.distributor_id:
        outbox.enqueue("storefront.distribution.tasks.count_attributed_sale",
                       kwargs={"order_id": order.pk})


@events.subscriber("order.received")
def freeze_commissions(event: events.DomainEvent) -> None:
    commissions.order_commissions_freeze(event.subject.pk)


@events.subscriber("after_sales.refunded")
def reverse_commissions(event: events.DomainEvent) -> None:
    """Refunded goods take their commission back, and come off the distributor's sales."""
    case = event.subject
    commissions.order_commissions_reverse(
        order_id=case.order_id, ledger_key=f"case:{case.pk}",
        reason=f"after-sales case {case.pk} refunded {case.refund_fen} fen",
    )
    if OrderAttribution.objects.filter(order_id=case.order_id,
                                       distributor__isnull=False).exists():
        outbox.enqueue("storefront.distribution.tasks.count_attributed_sale",
                       kwargs={"order_id": case.order_id})


@events.subscriber("order.completed")
def after_completion(event: events.DomainEvent) -> None:
    """After commit, off the order's transaction: an attributed order may lift its
    distributor to a level (storefront.distribution.levels), and held funds that nothing
    will share go back to the merchant (the profit-sharing route)."""
    order_id = event.data["id"]
    if OrderAttribution.objects.filter(order_id=order_id, distributor__isnull=False).exists():
        outbox.enqueue("storefront.distribution.tasks.promote_after_order",
                       kwargs={"order_id": order_id})
    if Payment.objects.filter(order_id=order_id, profit_sharing=True,
                              status=PaymentStatus.SUCCEEDED).exists():
        outbox.enqueue("storefront.distribution.tasks.unfreeze_unshared_order",
                       kwargs={"order_id": order_id})
