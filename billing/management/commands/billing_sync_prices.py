"""Make sure Stripe has a product and a monthly and yearly price for every plan, found by
lookup key (billing.models.Plan.stripe_lookup_key). Safe to run on every deploy: an
existing price with the right amount is kept; a changed amount gets a new price that takes
over the lookup key (Stripe prices are immutable), so subscribers move at their next change."""

from __future__ import annotations

import stripe
from django.core.management.base import BaseCommand, CommandError

from billing import stripe_gateway
from billing.errors import BillingNotConfigured
from billing.models import BillingInterval, Plan


class Command(BaseCommand):
    help = "Create or update the Stripe products and prices of the plans."

    def handle(self, *args, **options):
        try:
            client = stripe_gateway.client()
            for plan in Plan.objects.all():
                self._sync_plan(client, plan)
        except BillingNotConfigured as exc:
            raise CommandError("STRIPE_SECRET_KEY is not set.") from exc
        except stripe.StripeError as exc:
            raise CommandError(f"Stripe: {exc.user_message or exc}") from exc

    def _sync_plan(self, client, plan: Plan) -> None:
        product = None
        for interval in BillingInterval.values:
            amount = plan.price_fen(interval)
            if not amount:
                continue
            key = plan.stripe_lookup_key(interval)
            found = client.v1.prices.list(params={"lookup_keys": [key], "active": True,
                                                  "limit": 1}).data
            if found and found[0].unit_amount == amount:
                self.stdout.write(f"{key}: {found[0].id} (kept)")
                continue
            if product is None:
                product = client.v1.products.create(
                    params={"name": plan.name, "metadata": {"plan": plan.code}},
                    options={"idempotency_key": f"product-{plan.code}-{amount}-{interval}"},
                )
            price = client.v1.prices.create(
                params={"product": product.id, "unit_amount": amount, "currency": "cny",
                        "recurring": {"interval": interval}, "lookup_key": key,
                        "transfer_lookup_key": True, "nickname": f"{plan.name} ({interval})",
                        "metadata": {"plan": plan.code}},
                options={"idempotency_key": f"price-{key}-{amount}"},
            )
            self.stdout.write(f"{key}: {price.id} (created)")
