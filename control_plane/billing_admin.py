"""The platform admin's view of billing: subscriptions with the figures that run the
business (monthly recurring revenue, trials converting, churn, WeChat Pay applications
waiting), Stripe's events as received
and applied, invoices and plan changes. All read-only: Stripe and the webhooks decide."""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path

from billing.models import BillingAccount, Invoice, PlanChange, StripeEvent
from billing.selectors import platform_billing_figures
from tenants.models import APPLYMENT_OPEN_STATES, WeChatApplyment


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BillingAccount)
class BillingAccountAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "plan", "mall_status", "subscription_status", "interval",
                    "current_period_end", "cancel_at_period_end", "stripe_customer_id"]
    list_filter = ["subscription_status", "interval", "cancel_at_period_end"]
    search_fields = ["merchant__slug", "merchant__name", "stripe_customer_id",
                     "stripe_subscription_id"]
    list_select_related = ["merchant__plan"]
    change_list_template = "admin/billing/billingaccount/change_list.html"

    @admin.display(description="Plan")
    def plan(self, account):
        return account.merchant.plan.name

    @admin.display(description="Mall status")
    def mall_status(self, account):
        return account.merchant.get_status_display()

    def get_urls(self):
        view = self.admin_site.admin_view(self.overview)
        return [path("overview/", view, name="billing_billingaccount_overview"),
                *super().get_urls()]

    def overview(self, request):
        return TemplateResponse(request, "admin/billing/billingaccount/overview.html", {
            **self.admin_site.each_context(request), "title": "Subscriptions overview",
            "opts": self.model._meta, "figures": platform_billing_figures(),
            "applications_waiting": WeChatApplyment.objects.filter(
                state__in=APPLYMENT_OPEN_STATES).count(),
            "applications_flagged": WeChatApplyment.objects.exclude(flagged_reason="").count(),
        })


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "outcome", "merchant", "deliveries", "detail",
                    "stripe_created", "received_at"]
    list_filter = ["outcome", "type"]
    search_fields = ["event_id", "merchant__slug"]
    list_select_related = ["merchant"]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["number", "merchant", "status", "amount_due_fen", "amount_paid_fen",
                    "billing_reason", "attempt_count", "stripe_created"]
    list_filter = ["status", "billing_reason"]
    search_fields = ["number", "stripe_invoice_id", "merchant__slug"]
    list_select_related = ["merchant"]


@admin.register(PlanChange)
class PlanChangeAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "plan", "interval", "status", "requested_by", "requested_at",
                    "attempts", "last_error"]
    list_filter = ["status"]
    list_select_related = ["merchant", "plan"]
