"""Subscription plans offered to merchants and what each one allows."""

from django.db import models

# The commission tiers no plan can go above (PIPL/anti-pyramid rules cap distribution at 3;
# storefront.distribution.models.PLATFORM_MAX_TIERS says the same for the malls' data).
PLATFORM_MAX_TIERS = 3


class MarketingPlugin(models.TextChoices):
    """Distribution features sold by plan (the commission plan editor offers only these)."""

    LEVEL_RATES = "level_rates", "Rates by distributor level"
    STAGE_BONUS = "stage_bonus", "Monthly sales stage bonuses"
    TEAM_REWARD = "team_reward", "Team leader rewards"


class BillingInterval(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"


LOOKUP_KEY_PREFIX = "mall_"


class Plan(models.Model):
    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=60)
    monthly_price_fen = models.PositiveIntegerField()
    yearly_price_fen = models.PositiveIntegerField(default=0)
    max_products = models.PositiveIntegerField(help_text="0 means unlimited")
    max_staff = models.PositiveIntegerField(help_text="0 means unlimited")
    max_distribution_tiers = models.PositiveSmallIntegerField(default=PLATFORM_MAX_TIERS)
    marketing_plugins = models.JSONField(
        default=list, blank=True, help_text="Codes of the marketing plugins the plan includes."
    )
    custom_domain = models.BooleanField(
        default=False, help_text="Whether the mall may serve on a domain of its own."
    )
    trial_days = models.PositiveSmallIntegerField(default=14)
    is_default = models.BooleanField(
        default=False, help_text="The plan a new signup starts its trial on."
    )
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="billing_plan_single_default",
            ),
            models.CheckConstraint(
                condition=models.Q(max_distribution_tiers__gte=1,
                                   max_distribution_tiers__lte=PLATFORM_MAX_TIERS),
                name="billing_plan_tiers_capped",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def price_fen(self, interval: str) -> int:
        return self.yearly_price_fen if interval == BillingInterval.YEAR else self.monthly_price_fen

    def stripe_lookup_key(self, interval: str) -> str:
        """The Stripe price's lookup key: prices are found by it, so the same code works
        against the stand-in and any Stripe account (`manage.py billing_sync_prices`)."""
        return f"{LOOKUP_KEY_PREFIX}{self.code}_{interval}"

    @classmethod
    def code_of_lookup_key(cls, lookup_key: str) -> str:
        """The plan code a price's lookup key names ("" for a key that is not ours)."""
        if not lookup_key.startswith(LOOKUP_KEY_PREFIX):
            return ""
        code, _, interval = lookup_key.removeprefix(LOOKUP_KEY_PREFIX).rpartition("_")
        return code if interval in BillingInterval.values else ""

    def includes(self, plugin: str) -> bool:
        return plugin in (self.marketing_plugins or [])

    def allows_products(self, count: int) -> bool:
        return not self.max_products or count <= self.max_products


class BillingAccount(models.Model):
    """A merchant's side of Stripe: its customer, and a mirror of its subscription as the
    last applied webhook event described it. Stripe is the source of truth; this row is
    what the platform decided from it (and when, in Stripe's time, to order events)."""

    merchant = models.OneToOneField(
        "tenants.Merchant", on_delete=models.PROTECT, related_name="billing_account"
    )
    stripe_customer_id = models.CharField(max_length=64, blank=True)
    stripe_subscription_id = models.CharField(max_length=64, blank=True)
    # Stripe's own subscription status: trialing, active, past_due, unpaid, canceled, ...
    subscription_status = models.CharField(max_length=24, blank=True)
    interval = models.CharField(max_length=8, choices=BillingInterval.choices, blank=True)
    stripe_price_id = models.CharField(max_length=64, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    trial_end = models.DateTimeField(null=True, blank=True)
    # The Stripe `created` time of the newest subscription event applied: an older one
    # delivered late changes nothing.
    subscription_synced_at = models.DateTimeField(null=True, blank=True)
    trial_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_customer_id"], condition=~models.Q(stripe_customer_id=""),
                name="billing_account_one_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id}: {self.stripe_customer_id or 'no customer'}"

    @property
    def has_live_subscription(self) -> bool:
        return self.subscription_status in LIVE_SUBSCRIPTION_STATUSES


# Stripe subscription statuses under which the merchant is (still) a paying customer.
LIVE_SUBSCRIPTION_STATUSES = frozenset({"trialing", "active", "past_due", "unpaid"})


class EventOutcome(models.TextChoices):
    APPLIED = "applied", "Applied"
    STALE = "stale", "Older than what was applied"
    IGNORED = "ignored", "Not a type the platform handles"
    UNMATCHED = "unmatched", "No merchant matches it"


class StripeEvent(models.Model):
    """Every verified webhook event, stored once (its id is unique) and applied in the same
    transaction: a replay or duplicate finds the row and changes nothing."""

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=64)
    stripe_created = models.DateTimeField()
    payload = models.JSONField()
    merchant = models.ForeignKey(
        "tenants.Merchant", null=True, blank=True, on_delete=models.PROTECT,
        related_name="stripe_events",
    )
    outcome = models.CharField(max_length=12, choices=EventOutcome.choices)
    detail = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    deliveries = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["merchant", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} ({self.outcome})"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    VOID = "void", "Void"
    UNCOLLECTIBLE = "uncollectible", "Uncollectible"


# An invoice only moves forward: a late `payment_failed` never reopens a paid invoice.
INVOICE_STATUS_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}


class Invoice(models.Model):
    """A Stripe invoice of a merchant, as its webhook events described it."""

    stripe_invoice_id = models.CharField(max_length=64, unique=True)
    merchant = models.ForeignKey(
        "tenants.Merchant", on_delete=models.PROTECT, related_name="invoices"
    )
    number = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=InvoiceStatus.choices)
    currency = models.CharField(max_length=3, default="cny")
    amount_due_fen = models.BigIntegerField(default=0)
    amount_paid_fen = models.BigIntegerField(default=0)
    billing_reason = models.CharField(max_length=40, blank=True)
    hosted_invoice_url = models.URLField(max_length=500, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    next_payment_attempt = models.DateTimeField(null=True, blank=True)
    stripe_created = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-stripe_created", "-id"]
        indexes = [models.Index(fields=["merchant", "-stripe_created"])]

    def __str__(self) -> str:
        return f"{self.number or self.stripe_invoice_id} ({self.status})"


class PlanChangeStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent to Stripe"
    SENT = "sent", "Sent to Stripe"
    FAILED = "failed", "Refused by Stripe"


class PlanChange(models.Model):
    """A merchant's request to move its subscription to another plan or interval, sent to
    Stripe by a task (core.outbox) with this row's idempotency key: Stripe being down makes
    it wait and retry, never lost, never applied twice. The plan itself changes when
    Stripe's `customer.subscription.updated` arrives."""

    merchant = models.ForeignKey(
        "tenants.Merchant", on_delete=models.PROTECT, related_name="plan_changes"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    interval = models.CharField(max_length=8, choices=BillingInterval.choices)
    status = models.CharField(
        max_length=8, choices=PlanChangeStatus.choices, default=PlanChangeStatus.PENDING
    )
    requested_by = models.CharField(max_length=254, blank=True)  # the staff member's e-mail
    requested_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant"], condition=models.Q(status="pending"),
                name="billing_one_pending_plan_change",
            ),
        ]

    @property
    def idempotency_key(self) -> str:
        return f"plan-change-{self.pk}"
