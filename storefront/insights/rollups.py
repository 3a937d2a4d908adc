"""Keeping the per-day rollups (models.py says what each figure is).

`add_*` run inside the transaction of the change they count (subscribers.py): one
INSERT … ON CONFLICT DO UPDATE per table, so a payment costs a handful of statements and
holds no hot row for long (rows are striped by order id). `rollups_rebuild` recomputes every
row from the orders, their lines, attributions and commissions: the backfill when the app is
installed in a mall that already sold, and the repair should a rollup ever drift (the
dashboard test and `benchmarks/dashboard.py` compare both ways of counting).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from storefront.insights.models import SLOTS

SHANGHAI = ZoneInfo("Asia/Shanghai")


def business_day(moment: dt.datetime) -> dt.date:
    """The Asia/Shanghai date of an instant (business dates, DESIGN §5)."""
    return moment.astimezone(SHANGHAI).date()


def slot_of(order_id: int) -> int:
    return order_id % SLOTS


def _upsert(table: str, keys: tuple[str, ...], values: tuple[str, ...],
            rows: Iterable[tuple]) -> None:
    rows = list(rows)
    if not rows:
        return
    columns = (*keys, *values)
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(f"{name} = {table}.{name} + EXCLUDED.{name}" for name in values)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            + ", ".join([one] * len(rows))
            + f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}",
            [value for row in rows for value in row],
        )


_SALES_VALUES = ("placed", "orders", "gmv_fen", "refunded_fen", "commission_fen",
                 "paying_shoppers")


def add_sales(*, day: dt.date, order_id: int, **figures: int) -> None:
    row = (day, slot_of(order_id), *(figures.get(name, 0) for name in _SALES_VALUES))
    _upsert("insights_salesday", ("day", "slot"), _SALES_VALUES, [row])


def add_paying_shopper(*, day: dt.date, shopper_id: int) -> bool:
    """Note the shopper paid that day; True when it is their first payment of the day."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO insights_shopperday (day, shopper_id) VALUES (%s, %s) "
            "ON CONFLICT (day, shopper_id) DO NOTHING",
            [day, shopper_id],
        )
        return cursor.rowcount == 1


def add_products(*, day: dt.date, order_id: int, lines: dict[int, tuple[int, int]]) -> None:
    """lines: {product_id: (units, paid_fen)}."""
    slot = slot_of(order_id)
    _upsert("insights_productday", ("day", "product_id", "slot"), ("units", "paid_fen"),
            [(day, product_id, slot, units, paid) for product_id, (units, paid)
             in sorted(lines.items())])


def add_distributors(*, day: dt.date, figures: dict[int, tuple[int, int]]) -> None:
    """figures: {distributor_id: (sales_fen, commission_fen)} to add (negative: take off).
    Sorted by id: two transactions touching the same rows lock them in the same order."""
    _upsert("insights_distributorday", ("day", "distributor_id"),
            ("sales_fen", "commission_fen"),
            [(day, pk, sales, commission) for pk, (sales, commission)
             in sorted(figures.items()) if sales or commission])


# --- Rebuild -------------------------------------------------------------------------------

_DAY = "(({col}) AT TIME ZONE 'Asia/Shanghai')::date"
_REBUILD = [
    "DELETE FROM insights_salesday",
    "DELETE FROM insights_shopperday",
    "DELETE FROM insights_productday",
    "DELETE FROM insights_distributorday",
    f"""INSERT INTO insights_shopperday (day, shopper_id)
        SELECT DISTINCT {_DAY.format(col='paid_at')}, shopper_id
        FROM orders_order WHERE paid_at IS NOT NULL""",
    f"""INSERT INTO insights_salesday (day, slot, placed, orders, gmv_fen, refunded_fen,
                                      commission_fen, paying_shoppers)
        SELECT day, slot, sum(placed), sum(orders), sum(gmv), sum(refunded), sum(commission),
               sum(shoppers)
        FROM (
          SELECT {_DAY.format(col='created_at')} AS day, id % {SLOTS} AS slot, 1 AS placed,
                 0 AS orders, 0 AS gmv, 0 AS refunded, 0 AS commission, 0 AS shoppers
          FROM orders_order
          UNION ALL
          SELECT {_DAY.format(col='paid_at')}, id % {SLOTS}, 0, 1, total_fen, refunded_fen,
                 0, 0
          FROM orders_order WHERE paid_at IS NOT NULL
          UNION ALL
          SELECT {_DAY.format(col='o.paid_at')}, o.id % {SLOTS}, 0, 0, 0, 0,
                 c.amount_fen - c.reversed_fen, 0
          FROM distribution_commission c JOIN orders_order o ON o.id = c.order_id
          UNION ALL
          SELECT day, 0, 0, 0, 0, 0, 0, count(*) FROM insights_shopperday GROUP BY day
        ) AS figures
        GROUP BY day, slot""",
    f"""INSERT INTO insights_productday (day, product_id, slot, units, paid_fen)
        SELECT {_DAY.format(col='o.paid_at')}, l.product_id, o.id % {SLOTS},
               sum(l.quantity), sum(l.paid_fen)
        FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
        WHERE o.paid_at IS NOT NULL
        GROUP BY 1, 2, 3""",
    f"""INSERT INTO insights_distributorday (day, distributor_id, sales_fen, commission_fen)
        SELECT day, distributor_id, sum(sales), sum(commission) FROM (
          SELECT {_DAY.format(col='o.paid_at')} AS day, a.distributor_id,
                 l.paid_fen - l.refunded_fen AS sales, 0 AS commission
          FROM distribution_orderattribution a
          JOIN orders_order o ON o.id = a.order_id
          JOIN orders_orderline l ON l.order_id = o.id
          WHERE a.distributor_id IS NOT NULL
          UNION ALL
          SELECT {_DAY.format(col='o.paid_at')}, c.distributor_id, 0,
                 c.amount_fen - c.reversed_fen
          FROM distribution_commission c JOIN orders_order o ON o.id = c.order_id
        ) AS figures
        GROUP BY day, distributor_id""",
]


def rollups_rebuild() -> None:
    """Recompute every rollup row of the current mall from the source tables, in one
    transaction. The rollup tables are locked first (SHARE ROW EXCLUSIVE): a payment
    committing meanwhile waits, then adds its own figures on top of the rebuilt rows, which
    its snapshot-invisible order did not enter."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "LOCK TABLE insights_salesday, insights_shopperday, insights_productday, "
            "insights_distributorday IN SHARE ROW EXCLUSIVE MODE"
        )
        for statement in _REBUILD:
            cursor.execute(statement)
