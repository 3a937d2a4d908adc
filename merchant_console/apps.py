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


def _audit_plan_limits(sender, *, merchant, actor, action, target, detail, **kwargs):
    """billing.limits.plan_limits_enforce changed the mall (it runs in the mall's schema
    and transaction): the audit log says what and why."""
    from merchant_console.audit import audit_record

    audit_record(actor=actor, area="distribution", action=action, target=target,
                 detail=detail)


class MerchantConsoleConfig(AppConfig):
    name = "merchant_console"
    verbose_name = "Merchant console"

    def ready(self):
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="console-roles-sync")
        from billing.limits import plan_limits_enforced

        plan_limits_enforced.connect(_audit_plan_limits, dispatch_uid="console-plan-limits")
