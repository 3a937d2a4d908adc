"""WeChat Pay transactions of one mall, the callbacks received, refunds, and the
differences reconciliation found. Amounts are integer fen."""

from __future__ import annotations

from django.db import models


class PaymentChannel(models.TextChoices):
    JSAPI = "jsapi", "Inside WeChat (JSAPI)"
    H5 = "h5", "Mobile browser (H5)"
    NATIVE = "native", "Desktop QR code (Native)"
    MINIPROGRAM = "miniprogram", "Mini-program"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the shopper"
    SUCCEEDED = "succeeded", "Paid"
    CLOSED = "closed", "Closed"
    FAILED = "failed", "Failed"


class Payment(models.Model):
    """One WeChat Pay transaction attempt for an order (a new channel is a new attempt)."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    out_trade_no = models.CharField(max_length=32, unique=True)
    channel = models.CharField(max_length=12, choices=PaymentChannel.choices)
    sub_mchid = models.CharField(max_length=16)
    amount_fen = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    prepay_id = models.CharField(max_length=64, blank=True)
    h5_url = models.URLField(max_length=500, blank=True)
    code_url = models.CharField(max_length=500, blank=True)
    payer_openid = models.CharField(max_length=64, blank=True)
    profit_sharing = models.BooleanField(default=False)
    transaction_id = models.CharField(max_length=32, unique=True, null=True, blank=True)
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]


class NotificationOutcome(models.TextChoices):
    APPLIED = "applied", "Applied"
    ALREADY_APPLIED = "duplicate", "Already applied"
    FLAGGED = "flagged", "Flagged for staff"


class WeChatNotification(models.Model):
    """Every verified callback, by WeChat's notification id (deliveries repeat)."""

    notification_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=40)
    resource = models.JSONField()
    outcome = models.CharField(max_length=10, choices=NotificationOutcome.choices)
    received_at = models.DateTimeField(auto_now_add=True)


class RefundStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Refunded"
    CLOSED = "closed", "Closed"
    ABNORMAL = "abnormal", "Abnormal (needs staff)"


class Refund(models.Model):
    after_sales = models.OneToOneField(
        "orders.AfterSalesRequest", on_delete=models.PROTECT, related_name="refund"
    )
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    out_refund_no = models.CharField(max_length=64, unique=True)
    amount_fen = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.PROCESSING
    )
    refund_id = models.CharField(max_length=32, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)


class MismatchKind(models.TextChoices):
    MISSING_IN_BILL = "missing_in_bill", "Paid here, absent from WeChat's bill"
    MISSING_HERE = "missing_here", "In WeChat's bill, unknown or unpaid here"
    AMOUNT = "amount", "Amounts differ"
    REFUND = "refund", "Refund differs"
    PAID_AFTER_CANCEL = "paid_after_cancel", "Paid after the order was cancelled"


class ReconciliationMismatch(models.Model):
    """A difference for staff to look at; resolving it is a human decision."""

    bill_date = models.DateField(null=True, blank=True)
    kind = models.CharField(max_length=20, choices=MismatchKind.choices)
    out_trade_no = models.CharField(max_length=32, blank=True)
    details = models.JSONField(default=dict)
    resolved = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["bill_date", "kind", "out_trade_no"], name="payments_mismatch_once"
            )
        ]
