"""Carts, pricing rules, orders, their audit trail and after-sales cases.

Order state lives in `Order.status` and changes only through orders.transitions.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.models import StateChange


class OrderSettings(models.Model):
    """Per-mall order rules (one row)."""

    auto_cancel_minutes = models.PositiveIntegerField(default=30)
    auto_receive_days = models.PositiveIntegerField(default=10)
    after_sales_days = models.PositiveIntegerField(default=7)

    @classmethod
    def current(cls) -> OrderSettings:
        settings_row, _ = cls.objects.get_or_create(pk=1)
        return settings_row


class Cart(models.Model):
    """One per shopper; an anonymous visitor's cart is keyed by session and merged into the
    shopper's on sign-in."""

    shopper = models.OneToOneField(
        "shoppers.Shopper", null=True, blank=True, on_delete=models.CASCADE, related_name="cart"
    )
    session_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(shopper__isnull=False) | models.Q(session_key__isnull=False),
                name="orders_cart_has_owner",
            )
        ]


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "sku"], name="orders_cartline_unique")
        ]


class DiscountRule(models.Model):
    """满减: spend at least `threshold_fen`, get `amount_off_fen` off the goods."""

    name = models.CharField(max_length=40)
    threshold_fen = models.PositiveIntegerField()
    amount_off_fen = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-threshold_fen"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_off_fen__lt=models.F("threshold_fen")),
                name="orders_discount_below_threshold",
            )
        ]


class ShippingTemplate(models.Model):
    name = models.CharField(max_length=40)
    default_fee_fen = models.PositiveIntegerField(default=0)
    free_above_fen = models.PositiveIntegerField(
        default=0, help_text="Free shipping when the goods cost at least this (0: never)."
    )
    is_default = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True),
                name="orders_one_default_shipping_template",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ShippingRegionFee(models.Model):
    template = models.ForeignKey(
        ShippingTemplate, on_delete=models.CASCADE, related_name="region_fees"
    )
    provinces = models.JSONField(help_text='Province names, e.g. ["新疆", "西藏"]')
    fee_fen = models.PositiveIntegerField()


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    PAID = "paid", "Paid"
    SHIPPED = "shipped", "Shipped"
    RECEIVED = "received", "Received"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


class Order(models.Model):
    number = models.CharField(max_length=32, unique=True)
    shopper = models.ForeignKey("shoppers.Shopper", on_delete=models.PROTECT, related_name="orders")
    referrer = models.ForeignKey(
        "shoppers.Shopper", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT
    )
    goods_fen = models.PositiveIntegerField()
    discount_fen = models.PositiveIntegerField(default=0)
    shipping_fen = models.PositiveIntegerField(default=0)
    total_fen = models.PositiveIntegerField()
    refunded_fen = models.PositiveIntegerField(default=0)
    address = models.JSONField()
    note = models.CharField(max_length=200, blank=True)
    # Idempotency: a client retrying "place order" with the same key gets the same order.
    client_token = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    pay_deadline = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    carrier = models.CharField(max_length=30, blank=True)
    tracking_number = models.CharField(max_length=40, blank=True)
    cancel_reason = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["shopper", "-created_at"]),
            models.Index(fields=["status", "pay_deadline"]),
            models.Index(fields=["status", "shipped_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["shopper", "client_token"], name="orders_order_client_token_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    total_fen=models.F("goods_fen") - models.F("discount_fen")
                    + models.F("shipping_fen")
                ),
                name="orders_order_total_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=120)
    spec_label = models.CharField(max_length=200, blank=True)
    image_url = models.CharField(max_length=300, blank=True)
    unit_price_fen = models.PositiveIntegerField()
    quantity = models.PositiveIntegerField()
    discount_fen = models.PositiveIntegerField(default=0)
    # What the buyer actually paid for this line, shipping excluded: the commission base.
    paid_fen = models.PositiveIntegerField()
    commission_override = models.JSONField(default=dict, blank=True)
    refunded_quantity = models.PositiveIntegerField(default=0)
    refunded_fen = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(refunded_quantity__lte=models.F("quantity")),
                name="orders_line_refund_within_quantity",
            ),
            models.CheckConstraint(
                condition=models.Q(refunded_fen__lte=models.F("paid_fen")),
                name="orders_line_refund_within_paid",
            ),
        ]


class OrderStatusChange(StateChange):
    """Append-only audit trail: who moved the order, when, from what to what, and why."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=OrderStatus.choices)

    class Meta(StateChange.Meta):
        pass


class AfterSalesStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved, refund in progress"
    REFUND_FAILED = "refund_failed", "Refund failed, back with staff"
    REJECTED = "rejected", "Rejected"
    REFUNDED = "refunded", "Refunded"
    WITHDRAWN = "withdrawn", "Withdrawn"


# A case in one of these is still being decided or paid out: one per order at a time, and
# the order cannot complete meanwhile.
OPEN_AFTER_SALES = ("requested", "approved", "refund_failed")


class AfterSalesRequest(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="after_sales")
    status = models.CharField(
        max_length=16, choices=AfterSalesStatus.choices, default=AfterSalesStatus.REQUESTED
    )
    reason = models.CharField(max_length=40)
    description = models.TextField(blank=True, max_length=500)
    refund_fen = models.PositiveIntegerField()
    staff_note = models.CharField(max_length=200, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open case per order at a time keeps refund arithmetic simple and auditable.
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(status__in=OPEN_AFTER_SALES),
                name="orders_one_open_after_sales_case",
            )
        ]


class AfterSalesEvent(StateChange):
    """Append-only audit trail of an after-sales case."""

    case = models.ForeignKey(AfterSalesRequest, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=16, choices=AfterSalesStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=AfterSalesStatus.choices)

    class Meta(StateChange.Meta):
        pass


class AfterSalesLine(models.Model):
    request = models.ForeignKey(AfterSalesRequest, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    refund_fen = models.PositiveIntegerField()


class AfterSalesPhoto(models.Model):
    request = models.ForeignKey(
        AfterSalesRequest, on_delete=models.CASCADE, related_name="photos"
    )
    image = models.ImageField(upload_to="after_sales/")
