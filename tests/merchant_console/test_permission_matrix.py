"""The console's permission matrix, walked over every page and staff API endpoint.

Each page declares what it needs (`staff_page`), each API view its permission per method
(`StaffApiMixin`). The walk signs in as each role and requests every console URL of a mall
with data: a role without the declared permission gets 403, a role with it never does;
anonymous visitors are sent to the sign-in (pages) or refused (API); the owner of another
mall is a stranger here. The roles themselves are pinned by the areas each one sees."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.test import Client
from django.urls import resolve

from merchant_console.access import NAV_AREAS, can_open
from merchant_console.api.permissions import StaffApiMixin
from merchant_console.roles import ASSIGNABLE_ROLES, OWNER
from tests.conftest import host_client
from tests.test_no_server_errors import fill, url_formats

# Console URLs anyone may open: signing in and out, the signup hand-off, an invitation.
PUBLIC_CONSOLE_URLS = {"console:login", "console:logout", "console:handoff",
                       "console:invitations", "console:invitation"}

ROLE_AREAS = {
    OWNER: ["overview", "goods", "orders", "after_sales", "distribution", "finance",
            "service", "settings"],
    "admin": ["overview", "goods", "orders", "after_sales", "distribution", "finance",
              "service", "settings"],
    "operations": ["overview", "goods", "orders", "after_sales", "distribution", "service"],
    "finance": ["overview", "orders", "after_sales", "distribution", "finance"],
    "customer_service": ["overview", "goods", "orders", "after_sales", "service"],
}


def _declared(path: str):
    """('page', permission) or ('api', {method: permission} | 'owner') for a console URL."""
    match = resolve(path)
    view_class = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
    if view_class is not None and issubclass(view_class, StaffApiMixin):
        return "api", "owner" if view_class.owner_only else view_class.required_permissions
    return "page", getattr(match.func, "console_permission", "undeclared")


def _console_paths(ids) -> list[str]:
    return [path for f in url_formats("control_plane.urls_tenant")
            if f.startswith(("/console/", "/api/v1/console/"))
            for path in fill(f, ids)]


def _allowed(user, needed) -> bool:
    if needed == "owner":
        return user.is_superuser
    return needed is None or user.has_perm(needed)


def _request(client: Client, method: str, path: str):
    with transaction.atomic():
        response = getattr(client, method)(path)
        transaction.set_rollback(True)
    return response


def test_every_console_page_declares_what_it_needs(walk_mall):
    undeclared = []
    for path in _console_paths(walk_mall["ids"]):
        match = resolve(path)
        if f"{match.namespace}:{match.url_name}" in PUBLIC_CONSOLE_URLS:
            continue
        kind, needed = _declared(path)
        if needed == "undeclared":
            undeclared.append(path)
    assert not undeclared, f"pages without staff_page(...): {undeclared}"


@pytest.mark.parametrize("role", [OWNER, *ASSIGNABLE_ROLES])
def test_each_role_gets_exactly_what_the_pages_and_endpoints_declare(walk_mall, staff_client,
                                                                      role):
    client = staff_client(role)
    user = client.user
    wrong = []
    for path in _console_paths(walk_mall["ids"]):
        match = resolve(path)
        if f"{match.namespace}:{match.url_name}" in PUBLIC_CONSOLE_URLS:
            continue
        kind, needed = _declared(path)
        if kind == "api":
            methods = ["get", "post"] if needed == "owner" else [m.lower() for m in needed]
            for method in methods:
                perm = needed if needed == "owner" else needed[method.upper()]
                status = _request(client, method, path).status_code
                if (status == 403) == _allowed(user, perm):
                    wrong.append(f"{method.upper()} {path} -> {status} (needs {perm})")
            continue
        response = _request(client, "get", path)
        if response.status_code == 405:  # a form's target: try what the form sends
            response = _request(client, "post", path)
        if (response.status_code == 403) == _allowed(user, needed):
            wrong.append(f"{path} -> {response.status_code} (needs {needed})")
    assert not wrong, f"{role}: " + "\n".join(wrong)


def test_anonymous_visitors_and_other_malls_staff_are_strangers(walk_mall, make_merchant):
    paths = _console_paths(walk_mall["ids"])
    anonymous = host_client(walk_mall["merchant"])
    other = make_merchant(name="Other Mall").merchant
    stranger = host_client(walk_mall["merchant"])
    connection.set_tenant(other)
    from django.contrib.auth import get_user_model

    stranger.force_login(get_user_model().objects.get(is_superuser=True))  # other mall's owner
    connection.set_tenant(walk_mall["merchant"])
    wrong = []
    for client in (anonymous, stranger):
        for path in paths:
            match = resolve(path)
            if f"{match.namespace}:{match.url_name}" in PUBLIC_CONSOLE_URLS:
                continue
            kind, _ = _declared(path)
            response = _request(client, "get", path)
            if response.status_code == 405:
                response = _request(client, "post", path)
            if kind == "api":
                ok = response.status_code in (403, 405)
            else:
                ok = response.status_code == 302 and response["Location"].startswith(
                    "/console/login/")
            if not ok:
                wrong.append(f"{path} -> {response.status_code}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", [OWNER, *ASSIGNABLE_ROLES])
def test_each_role_sees_its_areas_in_the_navigation(mall, staff_client, role):
    client = staff_client(role)
    page = client.get("/console/").content.decode()
    shown = re.findall(r'data-area="(\w+)"', page)
    assert shown == [area.key for area in NAV_AREAS
                     if area.key in ROLE_AREAS[role] and can_open(client.user, area)]
    assert set(ROLE_AREAS[role]) >= set(shown)
    assert not can_open(AnonymousUser(), NAV_AREAS[1])
