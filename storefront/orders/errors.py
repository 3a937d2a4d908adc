"""Stable error codes of carts, checkout, orders and after-sales."""

from core.errors import Conflict, DomainError, InvalidInput, NotFound


class OrderNotFound(NotFound):
    code = "order_not_found"
    default_message = "Order not found."


class AfterSalesNotFound(NotFound):
    """Missing and another shopper's case answer the same 404."""

    code = "after_sales_not_found"
    default_message = "After-sales case not found."


class CartInvalid(InvalidInput):
    code = "cart_invalid"


class SkuUnavailable(Conflict):
    code = "sku_unavailable"
    default_message = "This item is no longer available."


class OutOfStock(Conflict):
    code = "out_of_stock"
    default_message = "Not enough stock."


class IllegalOrderTransition(Conflict):
    code = "illegal_order_transition"


class AfterSalesInvalid(InvalidInput):
    code = "after_sales_invalid"


class AfterSalesConflict(Conflict):
    code = "after_sales_conflict"


class CheckoutInvalid(InvalidInput):
    code = "checkout_invalid"


class AmountTooLarge(CheckoutInvalid):
    """The order would come to more than its amounts can hold (pricing.MAX_ORDER_FEN)."""

    code = "amount_too_large"


class CartAmountTooLarge(CartInvalid):
    """The cart's goods would come to more than one order can hold."""

    code = "amount_too_large"


class PriceChanged(DomainError):
    code = "price_changed"
    status = 409
    default_message = "Prices changed since you looked; please review your order."


class SettingsInvalid(InvalidInput):
    code = "order_settings_invalid"


class ShippingTemplateNotFound(NotFound):
    code = "shipping_template_not_found"
    default_message = "No such shipping template."
