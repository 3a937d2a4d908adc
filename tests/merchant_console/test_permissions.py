"""The one permission class of the staff API, and a guard that every staff API view is
configured for it (the end-to-end refusals are pinned in tests/orders and tests/catalog)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import URLPattern, URLResolver
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from merchant_console.api import urls as staff_api_urls
from merchant_console.api.permissions import StaffApiMixin, StaffPermission


@dataclass
class FakeUser:
    """Just what the permission reads; `perms` are the Django permissions held."""

    is_staff: bool = True
    is_active: bool = True
    is_superuser: bool = False
    perms: set[str] = field(default_factory=set)
    is_authenticated: bool = True

    def has_perm(self, perm: str) -> bool:
        return self.is_superuser or perm in self.perms


class ViewOrders(StaffApiMixin, APIView):
    required_permissions = {"GET": "orders.view_order", "POST": "orders.change_order"}


class OwnerOnly(StaffApiMixin, APIView):
    owner_only = True


class Unconfigured(StaffApiMixin, APIView):
    pass


def _check(view_class, user, method="GET") -> tuple[bool, str]:
    request = getattr(APIRequestFactory(), method.lower())("/")
    request.user = user
    permission = StaffPermission()
    return permission.has_permission(request, view_class()), permission.message


NO_PERMISSION = "You do not have permission to do this."
VIEWER = FakeUser(perms={"orders.view_order"})


@pytest.mark.parametrize(("user", "method", "expected"), [
    (AnonymousUser(), "GET", (False, "Staff only.")),
    (FakeUser(is_staff=False, perms={"orders.view_order"}), "GET", (False, "Staff only.")),
    (FakeUser(is_active=False, perms={"orders.view_order"}), "GET", (False, "Staff only.")),
    (FakeUser(), "GET", (False, NO_PERMISSION)),
    (VIEWER, "GET", (True, NO_PERMISSION)),
    (VIEWER, "HEAD", (True, NO_PERMISSION)),
    (VIEWER, "OPTIONS", (True, NO_PERMISSION)),
    (VIEWER, "POST", (False, NO_PERMISSION)),
    (VIEWER, "DELETE", (False, NO_PERMISSION)),
    (FakeUser(is_superuser=True), "POST", (True, NO_PERMISSION)),
])
def test_the_permission_the_view_names_for_the_method(user, method, expected):
    assert _check(ViewOrders, user, method) == expected


def test_owner_only_views_refuse_other_staff_whatever_they_hold():
    assert _check(OwnerOnly, VIEWER) == (False, "Only the mall's owner may do this.")
    assert _check(OwnerOnly, FakeUser(is_superuser=True))[0] is True
    assert _check(OwnerOnly, FakeUser(is_superuser=True, is_staff=False))[0] is False


def test_a_view_that_names_nothing_refuses_everyone_but_nobody_is_let_in_by_omission():
    assert _check(Unconfigured, VIEWER)[0] is False
    assert _check(Unconfigured, FakeUser(is_superuser=True))[0] is False


def _views(patterns) -> list:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _views(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            found.append(pattern.callback.view_class)
    return found


def test_every_staff_api_view_says_what_each_of_its_methods_needs():
    views = _views(staff_api_urls.urlpatterns)
    assert len(views) > 10
    unconfigured = {}
    for view in views:
        assert view.permission_classes == [StaffPermission], view
        methods = {m.upper() for m in view.http_method_names if hasattr(view, m)} - {
            "OPTIONS", "HEAD"}
        if not view.owner_only:
            missing = methods - set(view.required_permissions)
            if missing:
                unconfigured[view.__name__] = missing
    assert unconfigured == {}
