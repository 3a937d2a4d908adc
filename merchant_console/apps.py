from django.apps import AppConfig


class MerchantConsoleConfig(AppConfig):
    name = "merchant_console"
    verbose_name = "Merchant console"
