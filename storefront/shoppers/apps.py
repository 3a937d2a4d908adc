from django.apps import AppConfig


class ShoppersConfig(AppConfig):
    name = "storefront.shoppers"
    label = "shoppers"
