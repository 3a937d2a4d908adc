"""Cart services: a cart per shopper, or per session before sign-in."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from storefront.catalog.models import Sku
from storefront.orders.errors import CartAmountTooLarge, CartInvalid, SkuUnavailable
from storefront.orders.models import Cart, CartLine
from storefront.orders.pricing import order_amount_check
from storefront.shoppers.models import Shopper

MAX_QUANTITY_PER_LINE = 999
MAX_LINES = 100


def cart_get_or_create(*, shopper: Shopper | None, session_key: str | None) -> Cart:
    if shopper is not None:
        cart, _ = Cart.objects.get_or_create(shopper=shopper)
        return cart
    if not session_key:
        raise CartInvalid("A session is needed to keep a cart.")
    try:
        cart, _ = Cart.objects.get_or_create(session_key=session_key)
    except IntegrityError:
        cart = Cart.objects.get(session_key=session_key)
    return cart


def cart_find(*, shopper: Shopper | None, session_key: str | None) -> Cart | None:
    if shopper is not None:
        return Cart.objects.filter(shopper=shopper).first()
    if session_key:
        return Cart.objects.filter(session_key=session_key).first()
    return None


def _sellable_sku(sku_id: int) -> Sku:
    sku = (
        Sku.objects.select_related("product")
        .filter(pk=sku_id, is_active=True, product__is_on_shelf=True)
        .first()
    )
    if sku is None:
        raise SkuUnavailable()
    return sku


def _check_quantity(quantity: int) -> None:
    if not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY_PER_LINE:
        raise CartInvalid(
            f"Quantity must be between 1 and {MAX_QUANTITY_PER_LINE}.",
            fields={"quantity": [f"Between 1 and {MAX_QUANTITY_PER_LINE}."]},
        )


def _check_goods_total(*, cart: Cart, sku_id: int, quantity: int) -> None:
    """Refuse (400, naming the limit) a quantity that would make the cart's goods more than
    one order can hold: the shopper learns it now, not at checkout."""
    others = (
        CartLine.objects.filter(cart=cart, sku__is_active=True, sku__product__is_on_shelf=True)
        .exclude(sku_id=sku_id).values_list("quantity", "sku__price_fen")
    )
    price = Sku.objects.filter(pk=sku_id).values_list("price_fen", flat=True).first() or 0
    order_amount_check(sum(q * p for q, p in others) + price * quantity, field="quantity",
                       error=CartAmountTooLarge)


def cart_add(*, cart: Cart, sku_id: int, quantity: int) -> CartLine:
    """Add to the line of this SKU (or create it). Stock is checked at checkout, where it
    is reserved; here only obviously impossible quantities are refused."""
    _check_quantity(quantity)
    sku = _sellable_sku(sku_id)
    with transaction.atomic():
        line = CartLine.objects.select_for_update().filter(cart=cart, sku=sku).first()
        if line is None:
            if cart.lines.count() >= MAX_LINES:
                raise CartInvalid(f"A cart holds at most {MAX_LINES} different items.")
            _check_goods_total(cart=cart, sku_id=sku.pk, quantity=quantity)
            line = CartLine.objects.create(cart=cart, sku=sku, quantity=quantity)
        else:
            new_quantity = line.quantity + quantity
            _check_quantity(new_quantity)
            _check_goods_total(cart=cart, sku_id=sku.pk, quantity=new_quantity)
            line.quantity = new_quantity
            line.save(update_fields=["quantity"])
    return line


def cart_set_quantity(*, cart: Cart, sku_id: int, quantity: int) -> CartLine | None:
    """Set a line's quantity; 0 removes it."""
    if quantity == 0:
        CartLine.objects.filter(cart=cart, sku_id=sku_id).delete()
        return None
    _check_quantity(quantity)
    _check_goods_total(cart=cart, sku_id=sku_id, quantity=quantity)
    updated = CartLine.objects.filter(cart=cart, sku_id=sku_id).update(quantity=quantity)
    if not updated:
        return cart_add(cart=cart, sku_id=sku_id, quantity=quantity)
    return CartLine.objects.get(cart=cart, sku_id=sku_id)


def cart_remove(*, cart: Cart, sku_ids: list[int]) -> None:
    CartLine.objects.filter(cart=cart, sku_id__in=sku_ids).delete()


def cart_merge_anonymous(*, session_key: str, shopper: Shopper) -> None:
    """On sign-in, the visitor's cart joins the shopper's: quantities add up per SKU."""
    with transaction.atomic():
        anonymous = Cart.objects.select_for_update().filter(session_key=session_key).first()
        if anonymous is None:
            return
        target, _ = Cart.objects.get_or_create(shopper=shopper)
        for line in anonymous.lines.all():
            merged = CartLine.objects.filter(cart=target, sku_id=line.sku_id).update(
                quantity=F("quantity") + line.quantity
            )
            if not merged:
                CartLine.objects.create(cart=target, sku_id=line.sku_id, quantity=line.quantity)
        anonymous.delete()
