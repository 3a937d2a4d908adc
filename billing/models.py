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
        return f"mall_{self.code}_{interval}"

    def includes(self, plugin: str) -> bool:
        return plugin in (self.marketing_plugins or [])

    def allows_products(self, count: int) -> bool:
        return not self.max_products or count <= self.max_products
