"""Per-day rollups behind the console's dashboards (DESIGN §8), one set per mall.

Every figure is keyed by the Asia/Shanghai day on which its order was paid (placed, for
`placed`): a refund or a commission reversal counts against its order's own day, so a
day's refund rate says how much of that day's sales came back, and each figure equals a
sum over the orders and the ledger entries of that day's orders. The rows are kept by
in-transaction subscribers (storefront.insights.subscribers), so they commit with the
payment, refund or commission they count; `rollups_rebuild` recomputes them from the
source tables (backfill and repair). Hot rows are striped: a payment adds to the slot of
its order id, so concurrent payments of one day (or one product) rarely wait on each
other; readers sum the slots.
"""

from __future__ import annotations

from django.db import models

SLOTS = 8


class SalesDay(models.Model):
    day = models.DateField()
    slot = models.PositiveSmallIntegerField()
    placed = models.IntegerField(default=0)  # orders placed (the funnel's order stage)
    orders = models.IntegerField(default=0)  # orders paid
    gmv_fen = models.BigIntegerField(default=0)  # their totals, shipping included
    refunded_fen = models.BigIntegerField(default=0)
    commission_fen = models.BigIntegerField(default=0)  # accrued less reversed
    paying_shoppers = models.IntegerField(default=0)  # distinct (ShopperDay decides)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "slot"],
                                               name="insights_salesday_once")]


class ShopperDay(models.Model):
    """A shopper paid at least once that day: the distinct count of a period."""

    day = models.DateField()
    shopper_id = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "shopper_id"],
                                               name="insights_shopperday_once")]


class ProductDay(models.Model):
    day = models.DateField()
    product_id = models.BigIntegerField()
    slot = models.PositiveSmallIntegerField()
    units = models.IntegerField(default=0)
    paid_fen = models.BigIntegerField(default=0)  # the lines' paid amounts (commission base)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "product_id", "slot"],
                                               name="insights_productday_once")]


class DistributorDay(models.Model):
    day = models.DateField()
    distributor_id = models.BigIntegerField()
    sales_fen = models.BigIntegerField(default=0)  # attributed goods paid, less refunds
    commission_fen = models.BigIntegerField(default=0)  # earned at any tier, less reversed

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "distributor_id"],
                                               name="insights_distributorday_once")]


class FunnelDay(models.Model):
    """The storefront's own counts of a day, copied from Redis by `funnel_flush` (absolute
    values, so a flush may run twice)."""

    day = models.DateField(unique=True)
    visits = models.IntegerField(default=0)
    visitors = models.IntegerField(default=0)
    product_views = models.IntegerField(default=0)
    cart_adds = models.IntegerField(default=0)
    flushed_at = models.DateTimeField(auto_now=True)
