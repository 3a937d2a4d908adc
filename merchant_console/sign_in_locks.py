"""Sign-in locks of this mall's staff (django-axes, in the mall's schema): the owner sees the
accounts and network addresses locked after repeated failed sign-ins and unlocks them."""

from __future__ import annotations

import logging

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from axes.utils import reset
from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Max, Sum
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from merchant_console.access import staff_page
from merchant_console.audit import audit_record

logger = logging.getLogger(__name__)

# What a lock is counted on (AXES_LOCKOUT_PARAMETERS): the account, and the client address.
LOCK_KINDS = ("username", "ip_address")


class UnlockForm(forms.Form):
    kind = forms.ChoiceField(choices=[(kind, kind) for kind in LOCK_KINDS])
    value = forms.CharField(max_length=255)


def _locked(kind: str, request) -> list[dict]:
    """The accounts (kind "username") or addresses ("ip_address") whose failed sign-ins within
    the lockout period reach the limit, most recent first."""
    attempts = AccessAttempt.objects.exclude(**{f"{kind}__isnull": True})
    cool_off = get_cool_off(request)
    if cool_off:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    return list(
        attempts.values(kind)
        .annotate(failures=Sum("failures_since_start"), last_attempt=Max("attempt_time"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        .order_by("-last_attempt")
    )


@require_http_methods(["GET", "POST"])
@staff_page(owner_only=True)  # unlocking staff is the owner's
def sign_in_locks(request):
    if request.method == "POST":
        form = UnlockForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose an account or an address to unlock."))
            return redirect("console:sign-in-locks")
        kind, value = form.cleaned_data["kind"], form.cleaned_data["value"]
        with transaction.atomic():
            removed = reset(**{"username" if kind == "username" else "ip": value})
            audit_record(actor=request.user, area="settings", action="sign_in.unlock",
                         target=value, detail={"kind": kind, "attempt_rows": removed})
        logger.info("sign-in lock of %s %s cleared by user %s (%s attempt rows)",
                    kind, value, request.user.pk, removed)
        messages.success(request, _("%(who)s is unlocked.") % {"who": value})
        return redirect("console:sign-in-locks")
    return render(request, "console/sign_in_locks.html", {
        "accounts": _locked("username", request),
        "addresses": _locked("ip_address", request),
        "limit": settings.AXES_FAILURE_LIMIT,
    })
