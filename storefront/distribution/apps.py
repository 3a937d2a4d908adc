from django.apps import AppConfig


class DistributionConfig(AppConfig):
    name = "storefront.distribution"
    label = "distribution"
    verbose_name = "Distribution"

    def ready(self):
        from storefront.distribution import ledger_postings, subscribers, withdrawals  # noqa: F401

        ledger_postings.register()
