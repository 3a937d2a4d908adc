"""Subscription plans offered to merchants (the Stripe side arrives with the billing issue)."""

from django.db import models


class Plan(models.Model):
    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=60)
    monthly_price_fen = models.PositiveIntegerField()
    max_products = models.PositiveIntegerField(help_text="0 means unlimited")
    max_staff = models.PositiveIntegerField(help_text="0 means unlimited")
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
            )
        ]

    def __str__(self) -> str:
        return self.name
