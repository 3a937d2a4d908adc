from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "storefront.insights"
    label = "insights"
    verbose_name = "Sales and funnel figures"

    def ready(self):
        # After the distribution app's (INSTALLED_APPS order): the rollups read the
        # commissions and reversals its subscribers write in the same transaction.
        from storefront.insights import subscribers  # noqa: F401
