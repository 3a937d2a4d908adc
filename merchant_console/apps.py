from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, using="default", **kwargs):
    """After each migrate of a mall's schema (the template included, which new malls are
    cloned from), the role groups hold exactly the permissions merchant_console.roles
    lists. The public schema has no console."""
    from django.db import connection

    if connection.schema_name == "public":
        return
    from merchant_console.roles import roles_sync

    roles_sync()


class MerchantConsoleConfig(AppConfig):
    name = "merchant_console"
    verbose_name = "Merchant console"

    def ready(self):
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="console-roles-sync")
