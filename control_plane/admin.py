"""The platform admin (/admin/ on the platform host), a face over the shared domain apps:
merchants with status, host and dates, suspended and reactivated through the tenants
services; plans."""

from django.contrib import admin, messages

from billing.models import Plan
from core.actors import Actor
from core.errors import DomainError
from tenants import services
from tenants.models import Domain, Merchant, MerchantStatusChange, SpareSchema


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class StatusChangeInline(admin.TabularInline):
    model = MerchantStatusChange
    fk_name = "merchant"
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "reason", "reference",
                       "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


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

    @admin.action(description="Suspend selected malls")
    def suspend(self, request, queryset):
        self._apply(request, queryset, services.merchant_suspend, "suspended")

    @admin.action(description="Reactivate selected malls")
    def reactivate(self, request, queryset):
        self._apply(request, queryset, services.merchant_reactivate, "reactivated")


@admin.register(SpareSchema)
class SpareSchemaAdmin(admin.ModelAdmin):
    list_display = ["schema_name", "template_version", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "monthly_price_fen", "max_products", "max_staff", "is_default"]
