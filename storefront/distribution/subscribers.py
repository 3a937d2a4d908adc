"""What the distribution engine does when the rest of the mall reports something.

In-transaction subscribers run inside the change that published the event, so an order
is never paid without its commissions, nor refunded without their reversal."""

from __future__ import annotations

from core import events
from core.actors import Actor
from storefront.distribution import binding, commissions, services
from storefront.distribution.models import Distributor, DistributorStatus, OrderAttribution


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
    """Attribute the order and accrue its commissions, in the payment's transaction."""
    order = event.subject
    _bind_through_referrer(order)
    commissions.order_commissions_accrue(order)
    attribution = OrderAttribution.objects.select_related("distributor").get(order_id=order.pk)
    services.distributor_enroll_buyer(shopper_id=order.shopper_id,
                                      referrer=attribution.distributor)


@events.subscriber("order.received")
def freeze_commissions(event: events.DomainEvent) -> None:
    commissions.order_commissions_freeze(event.subject.pk)


@events.subscriber("after_sales.refunded")
def reverse_commissions(event: events.DomainEvent) -> None:
    case = event.subject
    commissions.order_commissions_reverse(
        order_id=case.order_id, ledger_key=f"case:{case.pk}",
        reason=f"after-sales case {case.pk} refunded {case.refund_fen} fen",
    )


# After commit, off the payment's transaction: add the sale to the distributor's totals
# (a leader's team totals read them), without making the distributor's row a hot row of
# every checkout.
events.task_subscriber(
    "order.paid", "storefront.distribution.tasks.count_attributed_sale",
    kwargs=lambda event: {"order_id": event.data["id"]},
)
events.task_subscriber(
    "after_sales.refunded", "storefront.distribution.tasks.count_attributed_sale",
    kwargs=lambda event: {"order_id": event.subject.order_id},
)
# A completed order may lift its distributor to a level (storefront.distribution.levels):
# after commit, off the order's transaction.
events.task_subscriber(
    "order.completed", "storefront.distribution.tasks.promote_after_order",
    kwargs=lambda event: {"order_id": event.data["id"]},
)

# The profit-sharing route: a completed order's held funds that nothing will share go
# back to the merchant (the task finds nothing to do in the statement route).
events.task_subscriber(
    "order.completed", "storefront.distribution.tasks.unfreeze_unshared_order",
    kwargs=lambda event: {"order_id": event.data["id"]},
)
