"""Console → Settings → Billing: the mall's plan, status, trial, next invoice and invoices,
and the ways to pay: Stripe Checkout to subscribe, a plan change (prorated, sent through the
outbox), Stripe's customer portal for the card and cancellation. Anyone with the settings
permission sees the page; only the owner commits the mall's money."""

from __future__ import annotations

from django.contrib import messages
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import limits, selectors, services
from billing.models import MarketingPlugin
from core.errors import DomainError
from merchant_console.access import staff_page
from merchant_console.audit import audit_record
from merchant_console.pages import domain_error_text
from merchant_console.settings_views import MANAGE_SETTINGS


def _billing_url(request, **query) -> str:
    url = request.build_absolute_uri(reverse("console:settings-billing"))
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


@staff_page(MANAGE_SETTINGS)
def billing(request):
    merchant = connection.tenant
    overview = selectors.billing_overview(merchant)
    returned = request.GET.get("checkout")
    # Back from Checkout before Stripe's webhook has arrived: the page polls until it has.
    waiting = returned == "success" and not overview.subscribed
    if request.htmx and request.GET.get("part") == "status":
        if returned == "success" and not waiting:
            # Confirmed: reload the whole page, so the header shows the new plan too.
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return response
        return render(request, "console/_billing_status.html",
                      {"overview": overview, "mall": merchant, "waiting": waiting})
    usage = limits.plan_usage(merchant)
    plugins = usage["marketing_plugins"]
    plugins["labels"] = [
        (_(MarketingPlugin(code).label), code in plugins["used"]) for code in plugins["allowed"]
    ]
    return render(request, "console/settings_billing.html", {
        "tab": "billing", "overview": overview, "waiting": waiting, "returned": returned,
        "usage": usage,
    })


# --- the owner's actions, shared by the pages and the staff API ------------------------------


def checkout_open(request, *, plan: str, interval: str) -> str:
    """Answers the URL of Stripe's Checkout; audited."""
    url = services.checkout_start(
        merchant=connection.tenant, plan_code=plan, interval=interval,
        success_url=_billing_url(request, checkout="success"),
        cancel_url=_billing_url(request, checkout="cancelled"),
    )
    audit_record(actor=request.user, area="settings", action="billing.checkout",
                 target=plan, detail={"interval": interval})
    return url


def plan_change_open(request, *, plan: str, interval: str):
    change = services.plan_change_request(
        merchant=connection.tenant, plan_code=plan, interval=interval,
        requested_by=request.user.email,
    )
    audit_record(actor=request.user, area="settings", action="billing.plan_change",
                 target=plan, detail={"interval": interval, "change": change.pk})
    return change


def portal_open(request) -> str:
    url = services.portal_url(merchant=connection.tenant, return_url=_billing_url(request))
    audit_record(actor=request.user, area="settings", action="billing.portal")
    return url


def _refused(request, exc: DomainError):
    messages.error(request, domain_error_text(exc))
    return redirect("console:settings-billing")


@require_POST
@staff_page(owner_only=True)
def billing_checkout(request):
    """Subscribe: off to Stripe's hosted Checkout for the chosen plan and interval."""
    try:
        url = checkout_open(request, plan=request.POST.get("plan", ""),
                            interval=request.POST.get("interval", ""))
    except DomainError as exc:
        return _refused(request, exc)
    return redirect(url)


@require_POST
@staff_page(owner_only=True)
def billing_change(request):
    """Move the subscription to another plan or interval; Stripe prorates and invoices."""
    try:
        change = plan_change_open(request, plan=request.POST.get("plan", ""),
                                  interval=request.POST.get("interval", ""))
    except DomainError as exc:
        return _refused(request, exc)
    messages.success(request, _("The change to %(plan)s is on its way to Stripe; the plan "
                                "switches as soon as Stripe confirms it.")
                     % {"plan": change.plan.name})
    return redirect("console:settings-billing")


@require_POST
@staff_page(owner_only=True)
def billing_portal(request):
    """Stripe's customer portal: card, invoices, plan and cancellation."""
    try:
        url = portal_open(request)
    except DomainError as exc:
        return _refused(request, exc)
    return redirect(url)
