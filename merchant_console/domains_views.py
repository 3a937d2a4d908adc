"""Console → Settings → Domains: the owner serves the mall on a domain of their own (when
the plan includes it) besides its platform host. Each change writes its audit row in its
transaction."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from billing.limits import PlanLimitReached, custom_domains_of, upgrade_url
from core.errors import DomainError
from merchant_console.access import staff_page
from merchant_console.audit import audit_record
from merchant_console.pages import domain_error_text, flash_refusal
from tenants.domains import custom_domain_add, custom_domain_remove
from tenants.selectors import merchant_current


@staff_page(owner_only=True)  # where the mall answers is the owner's
def domains_page(request):
    merchant = merchant_current()
    errors: list[str] = []
    limited = False
    typed = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            with transaction.atomic():
                if action == "add":
                    typed = request.POST.get("domain", "")
                    row = custom_domain_add(merchant=merchant, domain=typed)
                    audit_record(actor=request.user, area="settings", action="domain.add",
                                 target=row.domain)
                    messages.success(request, _("%(host)s now opens your mall once its DNS "
                                                "points here.") % {"host": row.domain})
                else:
                    try:
                        domain_id = int(request.POST.get("domain_id", ""))
                    except ValueError:
                        domain_id = 0
                    row = custom_domain_remove(merchant=merchant, domain_id=domain_id)
                    audit_record(actor=request.user, area="settings",
                                 action="domain.remove", target=row.domain)
                    messages.success(request, _("%(host)s no longer opens your mall.")
                                     % {"host": row.domain})
        except DomainError as exc:
            if action != "add":
                flash_refusal(request, exc)
                return redirect("console:settings-domains")
            errors.append(domain_error_text(exc))
            limited = isinstance(exc, PlanLimitReached)
            status = exc.status
        else:
            return redirect("console:settings-domains")
    merchant.refresh_from_db(fields=["plan"])
    return render(request, "console/settings_domains.html", {
        "tab": "domains", "domains": list(custom_domains_of(merchant)),
        "platform_host": merchant.primary_host, "allowed": merchant.plan.custom_domain,
        "plan_name": merchant.plan.name, "errors": errors, "limited": limited,
        "typed": typed, "upgrade_url": upgrade_url(),
        "cname_target": settings.PLATFORM_HOST,
    }, status=status)
