from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission


class IsMallStaff(BasePermission):
    """Staff of this mall: Django users live in the mall's schema, so a staff member of
    another mall is simply unknown here."""

    message = "Staff only."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff and user.is_active)


class StaffApiMixin:
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsMallStaff]
