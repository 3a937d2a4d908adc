from django.apps import AppConfig


class DistributionConfig(AppConfig):
    name = "storefront.distribution"
    label = "distribution"
    verbose_name = "Distribution"

    def ready(self):
        from storefront.distribution import ledger_postings, subscribers, withdrawals  # noqa: F401

        ledger_postings.register()

        # Payments ask WeChat to hold an order's funds only under a plan paying per order.
        from storefront.distribution.profit_share_route import profit_sharing_wanted
        from storefront.payments.services import register_profit_sharing_policy

        register_profit_sharing_policy(profit_sharing_wanted)

        # A downgrade clamps the active commission plan to what the new plan allows.
        from billing.limits import register_limits_enforcer
        from storefront.distribution.plans import plan_clamp_to_subscription

        register_limits_enforcer(plan_clamp_to_subscription)
