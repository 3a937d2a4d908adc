"""Checkout and the life of an order: placing (with stock reservation), cancelling,
paying, shipping, receiving, completing. Every status change goes through
orders.transitions.order_transition; every stock move and counter through the catalogue's
lock helpers (one global lock order). What follows a change (sales counts, messages, the
distribution engine) subscribes to the order's events instead of living here."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.actors import Actor
from storefront.catalog import lock_objects as catalog_locks
from storefront.catalog.models import Sku
from storefront.orders import lock_objects
from storefront.orders.errors import CheckoutInvalid, OutOfStock, PriceChanged, SkuUnavailable
from storefront.orders.models import (
    OPEN_AFTER_SALES,
    CartLine,
    Order,
    OrderLine,
    OrderSettings,
    OrderStatus,
)
from storefront.orders.pricing import Quote, quote_items
from storefront.orders.transitions import ORDER_MACHINE, order_transition
from storefront.shoppers.models import Address, Shopper

logger = logging.getLogger(__name__)

MAX_ORDER_LINES = 50
MAX_LINE_QUANTITY = 999


@dataclass(frozen=True)
class CheckoutItem:
    sku_id: int
    quantity: int


def _clean_items(items: list[CheckoutItem]) -> dict[int, int]:
    """Merge duplicate SKUs and validate quantities; returns {sku_id: quantity}."""
    if not items:
        raise CheckoutInvalid("Choose at least one item.", fields={"items": ["Empty."]})
    merged: dict[int, int] = {}
    for item in items:
        if not isinstance(item.quantity, int) or item.quantity < 1:
            raise CheckoutInvalid(
                "Quantities must be whole numbers of at least 1.",
                fields={"items": [f"Bad quantity for item {item.sku_id}."]},
            )
        merged[item.sku_id] = merged.get(item.sku_id, 0) + item.quantity
    if len(merged) > MAX_ORDER_LINES:
        raise CheckoutInvalid(f"An order holds at most {MAX_ORDER_LINES} different items.")
    too_many = [sku_id for sku_id, qty in merged.items() if qty > MAX_LINE_QUANTITY]
    if too_many:
        raise CheckoutInvalid(
            f"At most {MAX_LINE_QUANTITY} of one item per order.",
            fields={"items": [f"Too many of item {sku_id}." for sku_id in too_many]},
        )
    return merged


def _sellable_skus(sku_ids) -> dict[int, Sku]:
    skus = {
        sku.pk: sku
        for sku in Sku.objects.select_related("product", "product__cover").filter(
            pk__in=sku_ids, is_active=True, product__is_on_shelf=True
        )
    }
    missing = sorted(set(sku_ids) - set(skus))
    if missing:
        raise SkuUnavailable(
            "Some items are no longer available.",
            fields={"items": [f"Item {sku_id} is unavailable." for sku_id in missing]},
        )
    return skus


def checkout_quote(*, items: list[CheckoutItem], province: str | None = None) -> Quote:
    quantities = _clean_items(items)
    skus = _sellable_skus(quantities)
    return quote_items(
        items=[(skus[sku_id], qty) for sku_id, qty in quantities.items()], province=province
    )


NUMBER_ATTEMPTS = 3


def _number_taken(exc: IntegrityError) -> bool:
    """The unique violation was on the order number. Told by the key PostgreSQL names, not
    the constraint's name, which differs between migrated and cloned schemas."""
    diag = getattr(exc.__cause__, "diag", None)
    return (getattr(diag, "message_detail", None) or "").startswith("Key (number)=")


def _new_order_number() -> str:
    """20 characters, time-ordered, valid as a WeChat Pay out_trade_no (6–32 chars)."""
    return timezone.localtime().strftime("%Y%m%d%H%M%S") + f"{secrets.randbelow(10**6):06d}"


def commission_snapshot(sku: Sku) -> dict:
    """The override in force at checkout, SKU first, then product."""
    for source in (sku, sku.product):
        if source.commission_mode != "inherit":
            return {
                "source": "sku" if source is sku else "product",
                "mode": source.commission_mode,
                "fixed_fen": source.commission_fixed_fen,
                "rates_bp": list(source.commission_rates_bp or []),
            }
    return {}


def _referrer_for(*, shopper: Shopper, referrer_code: str | None) -> Shopper | None:
    if not referrer_code:
        return None
    referrer = Shopper.objects.filter(share_code=referrer_code, is_active=True).first()
    if referrer is None or referrer.pk == shopper.pk:
        return None
    return referrer


def order_place(
    *,
    shopper: Shopper,
    items: list[CheckoutItem],
    address_id: int,
    note: str = "",
    client_token: str | None = None,
    referrer_code: str | None = None,
    expected_total_fen: int | None = None,
    clear_cart: bool = True,
) -> Order:
    """Place an order that waits for payment, reserving its stock atomically.

    Prices, discount and shipping are computed here; the client only names SKUs and
    quantities. Stock is taken last, with one conditional UPDATE per SKU in id order: under
    any concurrency no SKU goes below zero, no two checkouts deadlock, and the hot rows are
    held only until the commit. A shortfall rolls the whole order back. A retry with the
    same `client_token` returns the first order instead of placing a second.
    """
    quantities = _clean_items(items)
    note = (note or "").strip()[:200]
    if client_token:
        existing = Order.objects.filter(shopper=shopper, client_token=client_token).first()
        if existing is not None:
            return existing
    address = Address.objects.filter(pk=address_id, shopper=shopper).first()
    if address is None:
        raise CheckoutInvalid(
            "Choose a delivery address.", fields={"address_id": ["Unknown address."]}
        )
    settings_row = OrderSettings.current()

    for attempt in range(1, NUMBER_ATTEMPTS + 1):
        try:
            order = _order_write(
                shopper=shopper, quantities=quantities, address=address, note=note,
                client_token=client_token, referrer_code=referrer_code,
                expected_total_fen=expected_total_fen, clear_cart=clear_cart,
                pay_minutes=settings_row.auto_cancel_minutes,
            )
            break
        except IntegrityError as exc:
            if _number_taken(exc) and attempt < NUMBER_ATTEMPTS:
                continue  # two orders drew the same number in the same second: draw again
            # Two retries with one client_token raced; the other one placed the order.
            if client_token:
                existing = Order.objects.filter(shopper=shopper, client_token=client_token).first()
                if existing is not None:
                    return existing
            raise
    logger.info("order %s placed: %s fen", order.number, order.total_fen)
    return order


def _order_write(
    *, shopper: Shopper, quantities: dict[int, int], address: Address, note: str,
    client_token: str | None, referrer_code: str | None, expected_total_fen: int | None,
    clear_cart: bool, pay_minutes: int,
) -> Order:
    """order_place's transaction: the order, its lines and history, then the stock."""
    with transaction.atomic():
        skus = _sellable_skus(quantities)
        quote = quote_items(
            items=[(skus[sku_id], qty) for sku_id, qty in quantities.items()],
            province=address.province,
        )
        if expected_total_fen is not None and expected_total_fen != quote.total_fen:
            raise PriceChanged(fields={"expected_total_fen": [str(quote.total_fen)]})
        now = timezone.now()
        order = Order.objects.create(
            number=_new_order_number(),
            shopper=shopper,
            referrer=_referrer_for(shopper=shopper, referrer_code=referrer_code),
            goods_fen=quote.goods_fen,
            discount_fen=quote.discount_fen,
            shipping_fen=quote.shipping_fen,
            total_fen=quote.total_fen,
            address=address.snapshot(),
            note=note,
            client_token=client_token or None,
            pay_deadline=now + dt.timedelta(minutes=pay_minutes),
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                sku=line.sku,
                product=line.sku.product,
                title=line.sku.product.title,
                spec_label=line.sku.spec_label,
                image_url=_image_url(line.sku),
                unit_price_fen=line.unit_price_fen,
                quantity=line.quantity,
                discount_fen=line.discount_fen,
                paid_fen=line.paid_fen,
                commission_override=commission_snapshot(line.sku),
            )
            for line in quote.lines
        )
        # `order.created`: the payments app sets the pay-deadline timer.
        ORDER_MACHINE.record_creation(order, actor=Actor.shopper(shopper.pk), reason="placed")
        if clear_cart:
            CartLine.objects.filter(
                cart__shopper=shopper, sku_id__in=list(quantities)
            ).delete()
        # Stock last: the hot SKU rows stay locked only until the commit that follows,
        # not while the order is written (a flash sale queues on those rows).
        short = catalog_locks.stock_reserve(quantities)
        if short is not None:
            raise OutOfStock(
                f"Not enough stock of {skus[short]}.",
                fields={"items": [f"Item {short} is out of stock."]},
            )
    return order


def _image_url(sku: Sku) -> str:
    if sku.image:
        return sku.image.url
    cover = sku.product.cover
    return cover.thumbnail.url if cover and cover.thumbnail else ""


def order_quantities(order: Order) -> dict[int, int]:
    """{sku_id: units} over the order's lines."""
    quantities: dict[int, int] = {}
    for sku_id, quantity in order.lines.values_list("sku_id", "quantity"):
        quantities[sku_id] = quantities.get(sku_id, 0) + quantity
    return quantities


def order_cancel(*, order: Order, actor: Actor, reason: str = "") -> Order:
    """Cancel an unpaid order and give its stock back, in one transaction."""
    with transaction.atomic():
        order = order_transition(
            order_id=order.pk, to_status=OrderStatus.CANCELLED, actor=actor, reason=reason,
            changes={"cancel_reason": reason[:100]},
            expected_from=frozenset({OrderStatus.PENDING_PAYMENT}),
        )
        catalog_locks.stock_release(order_quantities(order))
    return order


def order_mark_paid(*, order: Order, actor: Actor, reason: str = "", reference: str = "") -> Order:
    """Called by the payments service once the money is confirmed. Publishes `order.paid`:
    sales counts, the shopper's message and commissions are its subscribers."""
    return order_transition(
        order_id=order.pk, to_status=OrderStatus.PAID, actor=actor, reason=reason,
        reference=reference,
    )


def order_ship(*, order: Order, staff_user_id: int, carrier: str, tracking_number: str) -> Order:
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    errors = {}
    if not carrier or len(carrier) > 30:
        errors["carrier"] = ["Enter the carrier (at most 30 characters)."]
    if not tracking_number or len(tracking_number) > 40:
        errors["tracking_number"] = ["Enter the tracking number (at most 40 characters)."]
    if errors:
        raise CheckoutInvalid("Shipping details are missing.", fields=errors)
    return order_transition(
        order_id=order.pk, to_status=OrderStatus.SHIPPED, actor=Actor.staff(staff_user_id),
        reference=tracking_number[:64],
        changes={"carrier": carrier, "tracking_number": tracking_number},
    )


def order_confirm_receipt(*, order: Order, shopper: Shopper) -> Order:
    return order_transition(
        order_id=order.pk, to_status=OrderStatus.RECEIVED, actor=Actor.shopper(shopper.pk),
    )


def order_receive_if_due(*, order_id: int) -> bool:
    """Automatic receipt N days after shipping (N from OrderSettings)."""
    days = OrderSettings.current().auto_receive_days
    with transaction.atomic():
        order = lock_objects.order_for_update(order_id)
        cutoff = timezone.now() - dt.timedelta(days=days)
        if order.status != OrderStatus.SHIPPED or order.shipped_at > cutoff:
            return False
        order_transition(
            order_id=order_id, to_status=OrderStatus.RECEIVED, actor=Actor.system(),
            reason=f"auto after {days} days",
        )
    return True


def order_complete_if_due(*, order_id: int) -> bool:
    """Received orders complete when the after-sales window closes with no open case."""
    days = OrderSettings.current().after_sales_days
    with transaction.atomic():
        order = lock_objects.order_for_update(order_id)
        cutoff = timezone.now() - dt.timedelta(days=days)
        if order.status != OrderStatus.RECEIVED or order.received_at > cutoff:
            return False
        if order.after_sales.filter(status__in=OPEN_AFTER_SALES).exists():
            return False
        order_transition(
            order_id=order_id, to_status=OrderStatus.COMPLETED, actor=Actor.system(),
            reason="after-sales window closed",
        )
    return True
