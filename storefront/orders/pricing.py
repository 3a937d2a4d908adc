"""Server-side pricing: goods, discount, shipping. Clients never send prices; whatever a
client believes an order costs, this is what it costs."""

from __future__ import annotations

from dataclasses import dataclass, field

from storefront.catalog.models import Sku
from storefront.orders.errors import AmountTooLarge, CartInvalid, CheckoutInvalid
from storefront.orders.models import DiscountRule, ShippingTemplate

# The most an order may come to: its fen columns (goods, total, each line's paid amount, the
# payment's amount) are PositiveIntegerField, 2**31 - 1 at most. A larger order is refused
# with a 400 naming this limit, before anything is written.
MAX_ORDER_FEN = 2**31 - 1


@dataclass(frozen=True)
class QuoteLine:
    sku: Sku
    quantity: int
    unit_price_fen: int
    discount_fen: int

    @property
    def goods_fen(self) -> int:
        return self.unit_price_fen * self.quantity

    @property
    def paid_fen(self) -> int:
        return self.goods_fen - self.discount_fen


@dataclass(frozen=True)
class Quote:
    lines: list[QuoteLine]
    goods_fen: int
    discount_fen: int
    shipping_fen: int
    discount_rule: DiscountRule | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def total_fen(self) -> int:
        return self.goods_fen - self.discount_fen + self.shipping_fen


def order_amount_check(
    amount_fen: int, *, field: str = "items",
    error: type[CheckoutInvalid] | type[CartInvalid] = AmountTooLarge,
) -> None:
    """Raise `error` (400) naming the limit under `field` when `amount_fen` is more than
    one order can hold."""
    if amount_fen > MAX_ORDER_FEN:
        message = (f"An order can come to at most {MAX_ORDER_FEN} fen "
                   f"(¥{MAX_ORDER_FEN // 100}.{MAX_ORDER_FEN % 100:02d}).")
        raise error(message, fields={field: [message]})


def _best_discount(goods_fen: int) -> DiscountRule | None:
    return (
        DiscountRule.objects.filter(is_active=True, threshold_fen__lte=goods_fen)
        .order_by("-amount_off_fen", "-threshold_fen")
        .first()
    )


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split `total` fen across lines in proportion to `weights`, in whole fen: each gets
    floor(total * w / sum), and the remainder goes one fen at a time to the largest lines,
    so the parts always add up to `total` exactly."""
    weight_sum = sum(weights)
    if total == 0 or weight_sum == 0:
        return [0] * len(weights)
    parts = [total * weight // weight_sum for weight in weights]
    remainder = total - sum(parts)
    for index in sorted(range(len(weights)), key=lambda i: (-weights[i], i))[:remainder]:
        parts[index] += 1
    return parts


def shipping_fee(*, goods_after_discount_fen: int, province: str | None) -> int:
    template = ShippingTemplate.objects.filter(is_default=True).first()
    if template is None:
        return 0
    if template.free_above_fen and goods_after_discount_fen >= template.free_above_fen:
        return 0
    if province:
        for region in template.region_fees.all():
            if province in region.provinces:
                return region.fee_fen
    return template.default_fee_fen


def quote_items(*, items: list[tuple[Sku, int]], province: str | None) -> Quote:
    """Price `items` (SKU, quantity) for delivery to `province` with today's rules.
    Raises AmountTooLarge when the goods or the total are more than an order can hold."""
    goods = [sku.price_fen * quantity for sku, quantity in items]
    goods_fen = sum(goods)
    order_amount_check(goods_fen)
    rule = _best_discount(goods_fen)
    discount_fen = rule.amount_off_fen if rule else 0
    shares = allocate(discount_fen, goods)
    lines = [
        QuoteLine(sku=sku, quantity=quantity, unit_price_fen=sku.price_fen, discount_fen=share)
        for (sku, quantity), share in zip(items, shares, strict=True)
    ]
    shipping = shipping_fee(goods_after_discount_fen=goods_fen - discount_fen, province=province)
    quote = Quote(
        lines=lines, goods_fen=goods_fen, discount_fen=discount_fen, shipping_fen=shipping,
        discount_rule=rule,
    )
    order_amount_check(quote.total_fen)
    return quote
