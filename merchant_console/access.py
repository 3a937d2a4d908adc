"""Who may open a console page, and the navigation each member of staff sees.

Every page is wrapped in `staff_page("app.permission")`: signed-out visitors go to the
console's sign-in, shoppers and staff without the permission get the 403 page. The same
permissions guard the staff API (merchant_console.api.permissions), so a role sees the same
things through both. The navigation lists only the areas the signed-in person can open."""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.translation import pgettext_lazy

from merchant_console.roles import ROLE_LABELS, staff_role


def staff_page(permission: str | None = None, *, owner_only: bool = False):
    """Decorate a console view: active staff of this mall holding `permission` (None: any
    staff member), or the owner alone."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("console:login"))
            if not (user.is_active and user.is_staff):
                raise PermissionDenied
            if owner_only and not user.is_superuser:
                raise PermissionDenied
            if permission and not user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.console_permission = "owner" if owner_only else permission
        return wrapped

    return decorate


def _area(label: str):
    """An area's name, translated in its own context ("Goods" is 商品 here, 商品金额 on an
    order's bill)."""
    return pgettext_lazy("console area", label)


@dataclass(frozen=True)
class NavArea:
    key: str
    label: str
    url_name: str
    permission: str | None  # None: every member of staff
    prefixes: tuple[str, ...]  # the URL paths under /console/ that belong to the area
    owner_only: bool = False


# The console's areas in navigation order (概览, 商品, 订单, 售后, 分销, 财务, 客服, 设置).
NAV_AREAS = [
    NavArea("overview", _area("Overview"), "console:home", None, ("dashboard/",)),
    NavArea("goods", _area("Goods"), "console:products", "catalog.view_product", ("goods/",)),
    NavArea("orders", _area("Orders"), "console:orders", "orders.view_order", ("orders/",)),
    NavArea("after_sales", _area("After-sales"), "console:after-sales",
            "orders.view_aftersalesrequest", ("after-sales/",)),
    NavArea("distribution", _area("Distribution"), "console:distributors",
            "distribution.view_distributor", ("distribution/",)),
    NavArea("finance", _area("Finance"), "console:finance", "merchant_console.view_finance",
            ("finance/", "payments/")),
    NavArea("service", _area("Customer service"), "console:tickets", "support.view_ticket",
            ("service/",)),
    NavArea("settings", _area("Settings"), "console:settings", "merchant_console.manage_settings",
            ("settings/", "wechat-pay/", "sign-in-locks/")),
]


def area_of(path: str) -> str:
    """The navigation area a console path belongs to (the overview by default)."""
    rest = path.removeprefix("/console/")
    for area in NAV_AREAS:
        if rest.startswith(area.prefixes):
            return area.key
    return "overview"


def can_open(user, area: NavArea) -> bool:
    if area.owner_only:
        return user.is_superuser
    return area.permission is None or user.has_perm(area.permission)


def console_nav(request) -> dict:
    """Context processor: the areas this person can open, the current one, their role."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and user.is_staff
            and request.path.startswith("/console/")):
        return {}
    current = area_of(request.path)
    areas = []
    for area in NAV_AREAS:
        if not can_open(user, area):
            continue
        areas.append({"key": area.key, "label": area.label, "url": reverse(area.url_name),
                      "current": area.key == current})
    role = staff_role(user)
    return {"console_areas": areas, "console_role": ROLE_LABELS.get(role, "")}
