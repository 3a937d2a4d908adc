from django.apps import AppConfig


class SupportConfig(AppConfig):
    """Customer service (客服): shoppers' tickets and the conversation with staff."""

    name = "storefront.support"
    label = "support"
