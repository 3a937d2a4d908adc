from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "storefront.notifications"
    label = "notifications"
