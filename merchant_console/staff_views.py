"""Settings → staff: members and their roles, invitations, the audit log; and the page an
invited person opens from their e-mail."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from merchant_console.access import staff_page
from merchant_console.audit import AREAS, audit_chain_verify, audit_entries
from merchant_console.dates import day_end, day_start
from merchant_console.models import StaffInvitation
from merchant_console.pages import flash_refusal, query_without_page
from merchant_console.roles import ASSIGNABLE_ROLES, ROLE_LABELS, staff_role
from merchant_console.staff import (
    staff_deactivate,
    staff_invitation_accept,
    staff_invitation_open,
    staff_invitation_revoke,
    staff_invite,
    staff_role_set,
)


@staff_page("merchant_console.manage_staff")
def staff_list(request):
    User = get_user_model()
    members = list(
        User.objects.filter(is_staff=True).prefetch_related("groups")
        .order_by("-is_superuser", "-is_active", "email")
    )
    for member in members:
        member.role = staff_role(member) if member.is_active else None
        member.role_label = ROLE_LABELS.get(member.role, _("Removed"))
    invitations = StaffInvitation.objects.filter(
        accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    )
    return render(request, "console/staff.html", {
        "members": members, "invitations": invitations,
        "roles": [(role, ROLE_LABELS[role]) for role in ASSIGNABLE_ROLES],
        "role_labels": ROLE_LABELS,
    })


@require_POST
@staff_page("merchant_console.manage_staff")
def staff_action(request):
    action = request.POST.get("action")
    try:
        if action == "invite":
            staff_invite(
                by=request.user, email=request.POST.get("email", ""),
                role=request.POST.get("role", ""), merchant=request.tenant,
                accept_url_base=request.build_absolute_uri(reverse("console:invitations")),
            )
            messages.success(request, _("Invitation sent to %(email)s.")
                             % {"email": request.POST.get("email", "").strip().lower()})
        elif action == "role":
            member = staff_role_set(by=request.user, user_id=_int(request.POST.get("user")),
                                    role=request.POST.get("role", ""))
            messages.success(request, _("%(email)s is now %(role)s.") % {
                "email": member.email, "role": ROLE_LABELS[request.POST["role"]]})
        elif action == "remove":
            member = staff_deactivate(by=request.user, user_id=_int(request.POST.get("user")))
            messages.success(request, _("%(email)s no longer has access.")
                             % {"email": member.email})
        elif action == "revoke":
            staff_invitation_revoke(by=request.user,
                                    invitation_id=_int(request.POST.get("invitation")))
            messages.success(request, _("Invitation withdrawn."))
        else:
            messages.error(request, _("Unknown action."))
    except DomainError as exc:
        flash_refusal(request, exc)
    return redirect("console:staff")


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def invitation_accept(request, token: str):
    """The invited person chooses a password; they are signed in on success."""
    try:
        invitation = staff_invitation_open(token)
    except DomainError as exc:
        return render(request, "console/invitation.html", {"error": exc.message}, status=404)
    errors = {}
    if request.method == "POST":
        try:
            user = staff_invitation_accept(
                token=token, password=request.POST.get("password", ""),
                name=request.POST.get("name", ""),
            )
        except DomainError as exc:
            errors = exc.fields or {"form": [exc.message]}
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome to the team."))
            return redirect("console:home")
    return render(request, "console/invitation.html", {
        "invitation": invitation, "role": ROLE_LABELS.get(invitation.role, ""),
        "errors": errors,
    }, status=400 if errors else 200)




@staff_page("merchant_console.view_audit")
def audit_log(request):
    """Filterable by person, area and date (Asia/Shanghai days); 50 rows a page."""
    area = request.GET.get("area", "")
    entries = audit_entries(
        person=request.GET.get("person", "").strip(), area=area if area in AREAS else "",
        since=day_start(request.GET.get("since")), until=day_end(request.GET.get("until")),
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    verified = None
    if request.GET.get("verify"):
        checked, broken = audit_chain_verify()
        verified = {"checked": checked, "broken": broken}
    return render(request, "console/audit.html", {
        "page": page, "areas": AREAS, "filters": request.GET, "verified": verified,
        "query": query_without_page(request),
    })
