from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "storefront.orders"
    label = "orders"

    def ready(self):
        from storefront.orders import subscribers  # noqa: F401 - registers the subscribers
