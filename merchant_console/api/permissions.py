"""Who may call the staff API: one permission class, configured by each view.

Staff accounts live in the mall's own schema and the session cookie is host-only, so a
staff member of another mall is simply unknown here (anonymous). On top of being active
staff of this mall, a view asks for one of:

- `required_permissions = {"GET": "orders.view_order", "POST": "orders.change_order"}`:
  the Django permission needed for the request's method (HEAD and OPTIONS count as GET; a
  method the map does not name is refused). The owner is a superuser and holds them all.
- `owner_only = True`: the mall's owner alone (payment settings, for instance).

A view that declares neither refuses everyone: access is never granted by omission.
"""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission


class StaffPermission(BasePermission):
    message = "Staff only."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_staff and user.is_active):
            self.message = "Staff only."
            return False
        if getattr(view, "owner_only", False):
            self.message = "Only the mall's owner may do this."
            return user.is_superuser
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        needed = getattr(view, "required_permissions", {}).get(method)
        self.message = "You do not have permission to do this."
        return bool(needed) and user.has_perm(needed)


class StaffApiMixin:
    """Base of every staff API view; set `required_permissions` or `owner_only`."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [StaffPermission]
    required_permissions: dict[str, str] = {}
    owner_only = False
