from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "storefront.ledger"
    label = "ledger"
    verbose_name = "Ledger"
