"""The platform admin (/admin/ on the platform host), a face over the shared domain apps:
merchants with status, host and dates, suspended and reactivated through the tenants
services; WeChat Pay bindings approved or rejected (with a reason) through the binding
service; plans; the open compliance alerts of every mall (Merchants › Compliance alerts)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.postgres.aggregates import StringAgg
from django.db.models import OuterRef, Subquery
from django.template.response import TemplateResponse
from django.urls import path

from billing.models import Plan
from control_plane import billing_admin  # noqa: F401 - registers the billing models
from core.actors import Actor
from core.errors import DomainError
from storefront.distribution.compliance import open_alerts_of_every_mall
from tenants import applyment, services, wechat_binding
from tenants.models import (
    APPLYMENT_OPEN_STATES,
    Domain,
    Merchant,
    MerchantStatusChange,
    SpareSchema,
    WeChatApplyment,
    WeChatApplymentStatusChange,
    WeChatBinding,
    WeChatBindingStatusChange,
)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class HistoryInline(admin.TabularInline):
    """A state machine's audit rows (core.models.StateChange), read-only as the database
    keeps them."""

    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "reason", "reference",
                       "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


class StatusChangeInline(HistoryInline):
    model = MerchantStatusChange
    fk_name = "merchant"


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = [
        "name", "slug", "status", "plan", "primary_domain", "owner_email", "created_at",
        "trial_ends_at", "status_changed_at",
    ]
    list_filter = ["status", "plan"]
    search_fields = ["name", "slug", "owner_email", "domains__domain"]
    readonly_fields = [
        "schema_name", "slug", "status", "created_at", "status_changed_at", "owner_email",
    ]
    fields = [
        "name", "slug", "schema_name", "status", "plan", "owner_email", "trial_ends_at",
        "created_at", "status_changed_at",
    ]
    inlines = [DomainInline, StatusChangeInline]
    actions = ["suspend", "reactivate"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("plan").prefetch_related("domains")

    def has_add_permission(self, request):
        return False  # merchants are created by the signup flow, which provisions the schema

    def has_delete_permission(self, request, obj=None):
        return False  # data is never deleted from the admin; close the mall instead

    @admin.display(description="Domain")
    def primary_domain(self, obj):
        return next((d.domain for d in obj.domains.all() if d.is_primary), "")

    def _apply(self, request, queryset, service, verb):
        done = 0
        for merchant in queryset:
            try:
                service(merchant=merchant, actor=Actor.platform_admin(request.user.pk),
                        reason=f"admin action: {verb}")
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{merchant.slug}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} mall(s) {verb}.", messages.SUCCESS)

    def get_urls(self):
        view = self.admin_site.admin_view(self.compliance_alerts)
        return [path("compliance/", view, name="tenants_merchant_compliance"),
                *super().get_urls()]

    def compliance_alerts(self, request):
        """The anti-pyramid monitor's open alerts, mall by mall (each mall's staff resolve
        them in their console; the platform watches who leaves them open)."""
        malls = [mall for mall in open_alerts_of_every_mall(per_mall=20) if mall.open]
        return TemplateResponse(request, "admin/tenants/merchant/compliance.html", {
            **self.admin_site.each_context(request), "title": "Open compliance alerts",
            "opts": self.model._meta, "malls": malls,
        })

    @admin.action(description="Suspend selected malls")
    def suspend(self, request, queryset):
        self._apply(request, queryset, services.merchant_suspend, "suspended")

    @admin.action(description="Reactivate selected malls")
    def reactivate(self, request, queryset):
        self._apply(request, queryset, services.merchant_reactivate, "reactivated")


class BindingChangeInline(HistoryInline):
    model = WeChatBindingStatusChange
    fk_name = "binding"


class BindingReviewForm(forms.Form):
    reason = forms.CharField(max_length=200, required=False,
                             widget=forms.TextInput(attrs={"size": 80}))

    def __init__(self, *args, reason_required: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required


@admin.register(WeChatBinding)
class WeChatBindingAdmin(admin.ModelAdmin):
    """A mall's claim to a sub-merchant number waits here (filter: pending) for an admin to
    check it against the applyment records and approve or reject it. Read-only otherwise:
    the owner edits the binding in the console, the app secret is never shown."""

    list_display = ["merchant", "sub_mchid", "status", "also_claimed_by", "sub_appid",
                    "miniprogram_appid", "verified_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["sub_mchid", "merchant__slug", "merchant__name"]
    fields = ["merchant", "sub_mchid", "sub_appid", "miniprogram_appid", "status",
              "profit_sharing_max_ratio_bp", "verified_at", "updated_at"]
    readonly_fields = fields
    inlines = [BindingChangeInline]
    actions = ["approve", "reject"]

    def get_queryset(self, request):
        others = (
            WeChatBinding.objects.filter(sub_mchid=OuterRef("sub_mchid"))
            .exclude(pk=OuterRef("pk")).order_by().values("sub_mchid")
            .annotate(slugs=StringAgg("merchant__slug", ", ", order_by="merchant__slug"))
            .values("slugs")
        )
        return (
            super().get_queryset(request).select_related("merchant")
            .annotate(other_claims=Subquery(others))
        )

    def has_add_permission(self, request):
        return False  # the mall's owner claims a number in the console

    def has_delete_permission(self, request, obj=None):
        return False  # reject instead: the history stays

    @admin.display(description="Also claimed by")
    def also_claimed_by(self, obj):
        return obj.other_claims or ""

    def _review(self, request, queryset, *, service, verb: str, reason_required: bool):
        """Actions go through a confirmation page that shows each claim and asks for the
        reason; the number shown there is the one approved or rejected."""
        form = BindingReviewForm(request.POST if "apply" in request.POST else None,
                                 reason_required=reason_required)
        if form.is_valid():
            done = 0
            actor = Actor.platform_admin(request.user.pk)
            for binding in queryset.order_by("pk"):
                try:
                    service(binding=binding, actor=actor, reason=form.cleaned_data["reason"],
                            sub_mchid=request.POST.get(f"sub_mchid_{binding.pk}", ""))
                    done += 1
                except DomainError as exc:
                    self.message_user(request, f"{binding}: {exc.message}", messages.ERROR)
            if done:
                self.message_user(request, f"{done} binding(s) {verb}.", messages.SUCCESS)
            return None
        return TemplateResponse(request, "admin/tenants/wechatbinding/review.html", {
            **self.admin_site.each_context(request),
            "title": f"{verb.capitalize()} WeChat Pay bindings",
            "opts": self.model._meta, "bindings": queryset.order_by("pk"), "form": form,
            "action": request.POST.get("action", ""), "verb": verb,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        })

    @admin.action(description="Approve selected bindings (payments start)")
    def approve(self, request, queryset):
        return self._review(request, queryset, service=wechat_binding.binding_approve,
                            verb="approved", reason_required=False)

    @admin.action(description="Reject selected bindings (with a reason for the owner)")
    def reject(self, request, queryset):
        return self._review(request, queryset, service=wechat_binding.binding_reject,
                            verb="rejected", reason_required=True)


class ApplymentChangeInline(HistoryInline):
    model = WeChatApplymentStatusChange
    fk_name = "applyment"


class ApplymentWaitingFilter(admin.SimpleListFilter):
    title = "waiting"
    parameter_name = "waiting"

    def lookups(self, request, model_admin):
        return [("wechat", "Waiting on WeChat or the signature"),
                ("flagged", "Flagged for a platform admin")]

    def queryset(self, request, queryset):
        if self.value() == "wechat":
            return queryset.filter(state__in=APPLYMENT_OPEN_STATES)
        if self.value() == "flagged":
            return queryset.exclude(flagged_reason="")
        return queryset


@admin.register(WeChatApplyment)
class WeChatApplymentAdmin(admin.ModelAdmin):
    """Malls' applications for a WeChat Pay sub-merchant. Read-only, and without the
    applicant's data (ID numbers, bank account: encrypted, never shown): states, WeChat's
    messages and reasons, the resulting sub-merchant and whether it was bound. A finished
    application whose number another mall holds is flagged here; after resolving it (say,
    revoking the other binding), "bind" tries again."""

    list_display = ["business_code", "merchant", "state", "merchant_shortname", "sub_mchid",
                    "bound_at", "flagged", "submitted_at", "last_queried_at", "updated_at"]
    list_filter = [ApplymentWaitingFilter, "state", "subject_type"]
    search_fields = ["business_code", "applyment_id", "sub_mchid", "merchant__slug"]
    fields = ["merchant", "business_code", "applyment_id", "state", "state_message",
              "audit_detail", "subject_type", "merchant_shortname", "filled_fields",
              "sign_url", "sub_mchid", "bound_at", "flagged_reason", "last_error",
              "submitted_at", "finished_at", "last_queried_at", "created_at", "updated_at"]
    readonly_fields = fields
    inlines = [ApplymentChangeInline]
    actions = ["refresh", "bind"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("merchant")

    def has_add_permission(self, request):
        return False  # the mall's owner applies in the console

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description="Flagged")
    def flagged(self, obj):
        return bool(obj.flagged_reason)

    def _each(self, request, queryset, call, verb):
        done = 0
        for item in queryset.order_by("pk"):
            try:
                call(item)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{item}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} application(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Check the selected applications with WeChat now")
    def refresh(self, request, queryset):
        actor = Actor.platform_admin(request.user.pk)
        self._each(request, queryset, lambda a: applyment.applyment_refresh(
            applyment=a, actor=actor), "checked")

    @admin.action(description="Bind finished sub-merchants to their malls (after a conflict)")
    def bind(self, request, queryset):
        self._each(request, queryset, lambda a: applyment.applyment_bind_retry(applyment=a),
                   "bound (or still flagged)")


@admin.register(SpareSchema)
class SpareSchemaAdmin(admin.ModelAdmin):
    list_display = ["schema_name", "template_version", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "monthly_price_fen", "yearly_price_fen", "max_products",
                    "max_staff", "max_distribution_tiers", "custom_domain", "is_default"]
