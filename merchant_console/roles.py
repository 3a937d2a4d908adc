"""Staff roles: what each may do, as Django permissions on a group per role.

The owner is the mall's superuser and holds every permission. Every page and API view asks
for one permission (merchant_console.access, merchant_console.api.permissions), so a role is
exactly its list here. Customer service sees orders, after-sales and tickets, and nothing
of finance: no ledger, statements, withdrawals or dashboards of money."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

OWNER = "owner"
ADMIN = "admin"
OPERATIONS = "operations"
FINANCE = "finance"
CUSTOMER_SERVICE = "customer_service"

ROLE_LABELS = {
    OWNER: _("Owner"),
    ADMIN: _("Administrator"),
    OPERATIONS: _("Operations"),
    FINANCE: _("Finance"),
    CUSTOMER_SERVICE: _("Customer service"),
}
# Roles a staff member can be invited to or given; there is one owner, the superuser.
ASSIGNABLE_ROLES = [ADMIN, OPERATIONS, FINANCE, CUSTOMER_SERVICE]


def _model_perms(app: str, *models: str, actions=("view", "add", "change", "delete")):
    return {f"{app}.{action}_{model}" for model in models for action in actions}


_CATALOG = _model_perms("catalog", "product", "sku", "category", "banner", "productimage",
                        "specdimension", "specvalue")
_ORDERS_VIEW = {"orders.view_order", "orders.view_aftersalesrequest"}
_ORDERS_WORK = _ORDERS_VIEW | {"orders.change_order", "orders.change_aftersalesrequest"}
_DISTRIBUTION_RUN = _model_perms(
    "distribution", "distributor", "level", "commissionplan", "distributionsettings",
    "customerbinding",
) | {"distribution.view_compliancealert"}
_DISTRIBUTION_MONEY = _model_perms("distribution", "statement", "withdrawal",
                                   actions=("view", "change"))
# An order's commissions, on its console page: distribution money, so not customer service.
_COMMISSIONS_VIEW = {"distribution.view_commission"}
_SUPPORT = _model_perms("support", "ticket", actions=("view", "change"))

ROLE_PERMISSIONS: dict[str, set[str]] = {
    OPERATIONS: _CATALOG | _ORDERS_WORK | _DISTRIBUTION_RUN | _SUPPORT | _COMMISSIONS_VIEW
    | {"merchant_console.view_dashboard"},
    FINANCE: _ORDERS_VIEW | _DISTRIBUTION_MONEY | _COMMISSIONS_VIEW
    | {"distribution.view_distributor", "distribution.view_commissionplan",
       "distribution.view_compliancealert", "distribution.change_compliancealert",
       "payments.view_reconciliationmismatch", "payments.change_reconciliationmismatch",
       "merchant_console.view_finance",
       "merchant_console.view_dashboard"},
    CUSTOMER_SERVICE: _ORDERS_WORK | _SUPPORT | {"catalog.view_product"},
}
ROLE_PERMISSIONS[ADMIN] = set().union(*ROLE_PERMISSIONS.values()) | {
    "distribution.change_compliancealert", "merchant_console.manage_settings",
    "merchant_console.manage_staff", "merchant_console.view_audit",
}


def _permissions(names: set[str]) -> list[Permission]:
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(query))


@transaction.atomic
def roles_sync() -> None:
    """Make each role's group hold exactly its permissions (idempotent; run after
    migrations and before a role is given). A permission whose app is not installed yet is
    simply not granted."""
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(_permissions(names))


def role_group(role: str) -> Group:
    if role not in ASSIGNABLE_ROLES:
        raise ValueError(role)
    group = Group.objects.filter(name=role).first()
    if group is None or not group.permissions.exists():
        roles_sync()
        group = Group.objects.get(name=role)
    return group


def staff_role(user) -> str | None:
    """The role of a staff user: owner for the superuser, else the one role group."""
    if not (user and user.is_authenticated and user.is_staff):
        return None
    if user.is_superuser:
        return OWNER
    names = [group.name for group in user.groups.all() if group.name in ROLE_PERMISSIONS]
    return names[0] if names else None
