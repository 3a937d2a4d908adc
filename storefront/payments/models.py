"""WeChat Pay transactions of one mall, the callbacks received, refunds, and the
differences reconciliation found. Amounts are integer fen."""

from __future__ import annotations

from django.db import models

from core.models import StateChange


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
    REFUSED = "refused", "Refused: does not match our records"


class WeChatNotification(models.Model):
    """Every callback whose signature verified, by WeChat's notification id (deliveries
    repeat). One refused after verifying (wrong amount, sub-merchant or trade) is kept with
    the reason and shown to staff: signed by WeChat yet not ours is worth a look."""

    notification_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=40)
    resource = models.JSONField()
    outcome = models.CharField(max_length=10, choices=NotificationOutcome.choices)
    reason = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["outcome", "-received_at"])]


class RefundStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Refunded"
    CLOSED = "closed", "Closed"
    ABNORMAL = "abnormal", "Abnormal (needs staff)"
    REFUSED = "refused", "Refused by WeChat (nothing refunded)"


# A refund that may still return the money (or did): at most one per after-sales case.
LIVE_REFUND_STATUSES = ("processing", "succeeded", "abnormal")


class Refund(models.Model):
    """A refund through WeChat Pay: of an after-sales case (a new attempt when staff retry
    one that failed), or, without a case, of a payment that arrived after its order was
    cancelled (the money is owed back whole)."""

    after_sales = models.ForeignKey(
        "orders.AfterSalesRequest", null=True, blank=True, on_delete=models.PROTECT,
        related_name="refunds",
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

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["after_sales"], condition=models.Q(status__in=LIVE_REFUND_STATUSES),
                name="payments_one_live_refund_per_case",
            ),
            models.UniqueConstraint(
                fields=["payment"], condition=models.Q(after_sales__isnull=True),
                name="payments_one_return_per_unapplied_payment",
            ),
        ]


class MismatchKind(models.TextChoices):
    MISSING_IN_BILL = "missing_in_bill", "Paid here, absent from WeChat's bill"
    MISSING_HERE = "missing_here", "In WeChat's bill, unknown or unpaid here"
    AMOUNT = "amount", "Amounts differ"
    REFUND = "refund", "Refund differs"
    PAID_AFTER_CANCEL = "paid_after_cancel", "Paid after the order was cancelled"
    LEDGER = "ledger", "The ledger differs from WeChat's bill"
    FEES = "fees", "WeChat's fees for the day changed"


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


class ReconciledBill(models.Model):
    """A day's trade bill once reconciled: its totals in fen, as WeChat stated them. The
    day's fees are posted to the ledger from here (source `wechat_fees`, key the date)."""

    bill_date = models.DateField(unique=True)
    trades = models.PositiveIntegerField()
    paid_fen = models.BigIntegerField()  # 应结订单金额 of the SUCCESS rows
    refunded_fen = models.BigIntegerField()  # 退款金额 of the REFUND rows
    fee_fen = models.BigIntegerField()  # net 手续费: charged on payments, returned on refunds
    reconciled_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-bill_date"]


# Payouts: profit sharing (分账) and transfers to WeChat balance (商家转账) -------------------


class ReceiverType(models.TextChoices):
    PERSONAL_OPENID = "PERSONAL_OPENID", "Person (openid of the platform's app)"
    PERSONAL_SUB_OPENID = "PERSONAL_SUB_OPENID", "Person (openid of the mall's app)"
    MERCHANT_ID = "MERCHANT_ID", "Merchant"


class ProfitShareReceiver(models.Model):
    """A receiver added to the sub-merchant's profit-sharing list; WeChat refuses a share to
    anyone not added first. Remembered so each account is added once per sub-merchant (a new
    sub-merchant binding needs its receivers added again)."""

    sub_mchid = models.CharField(max_length=16)
    receiver_type = models.CharField(max_length=20, choices=ReceiverType.choices)
    account = models.CharField(max_length=64)
    appid = models.CharField(max_length=32, blank=True)
    relation_type = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sub_mchid", "receiver_type", "account"], name="payments_receiver_once"
            )
        ]


class ProfitShareKind(models.TextChoices):
    SHARE = "share", "Share to receivers"
    UNFREEZE = "unfreeze", "Unfreeze the rest to the sub-merchant"


class ProfitShareStatus(models.TextChoices):
    CREATED = "created", "Sent, not acknowledged by WeChat yet"
    PROCESSING = "processing", "Processing at WeChat"
    FINISHED = "finished", "Finished"
    REFUSED = "refused", "Refused by WeChat (nothing shared)"


class ProfitShare(models.Model):
    """One profit-sharing order (or unfreeze) on a paid transaction, by `out_order_no`.

    `request` is the exact body sent, so a retry sends the same order again; the state and
    the per-receiver results only ever come from WeChat's answers."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="profit_shares")
    out_order_no = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10, choices=ProfitShareKind.choices)
    status = models.CharField(
        max_length=10, choices=ProfitShareStatus.choices, default=ProfitShareStatus.CREATED
    )
    sub_mchid = models.CharField(max_length=16)
    amount_fen = models.PositiveIntegerField(default=0)  # total to receivers (SHARE)
    unfreeze_unsplit = models.BooleanField(default=False)
    order_id = models.CharField(max_length=64, blank=True)  # WeChat's 分账单号
    request = models.JSONField(default=dict)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]


class ShareLineResult(models.TextChoices):
    PENDING = "PENDING", "Pending"
    SUCCESS = "SUCCESS", "Shared"
    CLOSED = "CLOSED", "Closed (not shared)"


class ProfitShareLine(models.Model):
    """One receiver of a profit-sharing order, with WeChat's result for it."""

    share = models.ForeignKey(ProfitShare, on_delete=models.CASCADE, related_name="lines")
    receiver_type = models.CharField(max_length=20, choices=ReceiverType.choices)
    account = models.CharField(max_length=64)
    amount_fen = models.PositiveIntegerField()
    description = models.CharField(max_length=80)
    result = models.CharField(
        max_length=10, choices=ShareLineResult.choices, default=ShareLineResult.PENDING
    )
    fail_reason = models.CharField(max_length=40, blank=True)
    detail_id = models.CharField(max_length=64, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["share", "receiver_type", "account"], name="payments_share_line_once"
            )
        ]


class ShareReturnStatus(models.TextChoices):
    CREATED = "created", "Sent, not acknowledged by WeChat yet"
    PROCESSING = "processing", "Processing at WeChat"
    SUCCESS = "success", "Returned"
    FAILED = "failed", "Failed"
    REFUSED = "refused", "Refused by WeChat (nothing returned)"


class ProfitShareReturn(models.Model):
    """Clawing a share back from a merchant receiver (分账回退), by `out_return_no`."""

    share = models.ForeignKey(ProfitShare, on_delete=models.PROTECT, related_name="returns")
    out_return_no = models.CharField(max_length=64, unique=True)
    return_mchid = models.CharField(max_length=32)
    amount_fen = models.PositiveIntegerField()
    description = models.CharField(max_length=80)
    status = models.CharField(
        max_length=10, choices=ShareReturnStatus.choices, default=ShareReturnStatus.CREATED
    )
    return_id = models.CharField(max_length=64, blank=True)
    fail_reason = models.CharField(max_length=40, blank=True)
    request = models.JSONField(default=dict)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class TransferStatus(models.TextChoices):
    """WeChat's transfer-bill states, plus CREATED (sent, no answer yet) and REFUSED (WeChat
    refused the request: no bill exists, no money moved)."""

    CREATED = "CREATED", "Sent, not acknowledged by WeChat yet"
    ACCEPTED = "ACCEPTED", "Accepted"
    PROCESSING = "PROCESSING", "Processing"
    WAIT_USER_CONFIRM = "WAIT_USER_CONFIRM", "Waiting for the user to confirm"
    TRANSFERING = "TRANSFERING", "Transferring"
    CANCELING = "CANCELING", "Cancelling"
    SUCCESS = "SUCCESS", "Paid to the user's balance"
    FAIL = "FAIL", "Failed or closed"
    CANCELLED = "CANCELLED", "Cancelled"
    REFUSED = "REFUSED", "Refused by WeChat"


class Transfer(models.Model):
    """A transfer from the sub-merchant to a user's WeChat balance, by `out_bill_no`.

    The user confirms it in WeChat (`package_info` for wx.requestMerchantTransfer). `request`
    is the exact body sent (the real name only as ciphertext to WeChat's public key, which
    only WeChat can read), so a retry sends the same bill again."""

    out_bill_no = models.CharField(max_length=32, unique=True)
    sub_mchid = models.CharField(max_length=16)
    appid = models.CharField(max_length=32)
    openid = models.CharField(max_length=64)
    amount_fen = models.PositiveIntegerField()
    remark = models.CharField(max_length=32)
    real_name_given = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20, choices=TransferStatus.choices, default=TransferStatus.CREATED
    )
    transfer_bill_no = models.CharField(max_length=64, blank=True)
    package_info = models.TextField(blank=True)
    fail_reason = models.CharField(max_length=64, blank=True)
    request = models.JSONField(default=dict)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]


# Histories: one append-only row per move of each money state machine
# (storefront.payments.transitions). --------------------------------------------------------


class PaymentEvent(StateChange):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")

    class Meta(StateChange.Meta):
        pass


class RefundEvent(StateChange):
    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="events")

    class Meta(StateChange.Meta):
        pass


class ProfitShareEvent(StateChange):
    share = models.ForeignKey(ProfitShare, on_delete=models.PROTECT, related_name="events")

    class Meta(StateChange.Meta):
        pass


class ProfitShareReturnEvent(StateChange):
    share_return = models.ForeignKey(
        ProfitShareReturn, on_delete=models.PROTECT, related_name="events"
    )

    class Meta(StateChange.Meta):
        pass


class TransferEvent(StateChange):
    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="events")

    class Meta(StateChange.Meta):
        pass
