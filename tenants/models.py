"""Merchants (one PostgreSQL schema each), their host names, lifecycle audit, spare schemas."""

from django.conf import settings
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from core.models import StateChange


class MerchantStatus(models.TextChoices):
    TRIAL = "trial", "Trial"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    SUSPENDED = "suspended", "Suspended"
    CLOSED = "closed", "Closed"


# WeChat green: the colour a mall has until its staff choose one (base.html's --brand).
DEFAULT_THEME_COLOUR = "#07c160"


class Merchant(TenantMixin):
    """A merchant's mall. `schema_name` is derived from `slug` (see tenants.slugs)."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=30, unique=True)
    status = models.CharField(
        max_length=16, choices=MerchantStatus.choices, default=MerchantStatus.TRIAL
    )
    plan = models.ForeignKey("billing.Plan", on_delete=models.PROTECT, related_name="merchants")
    owner_email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    # The mall's face, set by its staff (tenants.services.merchant_profile_update): the
    # storefront shows the logo in its header and uses the colour as its --brand. The logo
    # file lives in the mall's own media folder (MEDIA_ROOT/<schema>/mall/).
    logo = models.FileField(upload_to="mall/", blank=True, max_length=200)
    theme_colour = models.CharField(max_length=7, default=DEFAULT_THEME_COLOUR)
    contact_phone = models.CharField(max_length=20, blank=True)
    # Bumped by PostgreSQL triggers on every change shoppers can see (tenants 0007,
    # catalog 0004); the storefront's page cache keys pages by it.
    catalog_version = models.BigIntegerField(
        default=0, editable=False,
        help_text="Bumped by PostgreSQL on every change shoppers can see.",
    )

    # Schemas are provisioned by tenants.provisioning inside the signup transaction, never
    # by save(); and a deleted row must not silently drop a merchant's data.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The colour is written into the storefront's CSS: nothing but #rrggbb gets there.
            models.CheckConstraint(
                condition=models.Q(theme_colour__regex=r"^#[0-9a-fA-F]{6}$"),
                name="tenants_merchant_theme_colour_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_open_to_shoppers(self) -> bool:
        return self.status in (MerchantStatus.TRIAL, MerchantStatus.ACTIVE, MerchantStatus.PAST_DUE)

    @property
    def primary_host(self) -> str:
        return f"{self.slug}.{settings.PLATFORM_DOMAIN}"

    @property
    def home_url(self) -> str:
        return f"{settings.PLATFORM_SCHEME}://{self.primary_host}/"


class Domain(DomainMixin):
    """A host name that routes to a merchant (`<slug>.<platform host>`; custom ones later)."""


class MerchantStatusChange(StateChange):
    """Append-only audit trail of lifecycle transitions (who: a typed actor — a platform
    admin, the system, later Stripe's webhooks through the system)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=MerchantStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=MerchantStatus.choices)

    class Meta(StateChange.Meta):
        ordering = ["-created_at", "-id"]


class SpareSchema(models.Model):
    """A schema cloned from the template ahead of time, waiting to be renamed at a signup.

    `template_version` fingerprints the migrations the template had when it was cloned; a
    spare from an older template is never handed out and is dropped by the next refill.
    """

    schema_name = models.CharField(max_length=63, unique=True)
    template_version = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.schema_name


class BindingStatus(models.TextChoices):
    """Whether a platform admin has accepted the mall's claim to the sub-merchant. WeChat
    only confirms that the number belongs to the platform's service provider, not that it
    belongs to this mall, so payments and payouts wait for an approval."""

    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class WeChatBinding(models.Model):
    """A mall's WeChat identity: its WeChat Pay sub-merchant number under the platform's
    service-provider account, and the app ids of its official account / mini-program.

    Secrets (the official account's app secret) are stored encrypted (tenants.secrets) and
    are never shown back; staff can only replace them. Several malls may claim one number;
    only one binding per number can be approved (a partial unique constraint).
    """

    merchant = models.OneToOneField(
        Merchant, on_delete=models.CASCADE, related_name="wechat_binding"
    )
    sub_mchid = models.CharField(max_length=16, db_index=True)
    sub_appid = models.CharField(max_length=32, blank=True, help_text="Official account app id")
    miniprogram_appid = models.CharField(max_length=32, blank=True)
    app_secret_encrypted = models.TextField(blank=True)
    status = models.CharField(
        max_length=12, choices=BindingStatus.choices, default=BindingStatus.PENDING
    )
    # From WeChat: the largest share of an order that may be profit-shared, basis points.
    profit_sharing_max_ratio_bp = models.PositiveIntegerField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sub_mchid"], condition=models.Q(status=BindingStatus.APPROVED),
                name="tenants_binding_one_approved_per_sub_mchid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant.slug}: {self.sub_mchid}"

    @property
    def has_app_secret(self) -> bool:
        return bool(self.app_secret_encrypted)


class WeChatBindingStatusChange(StateChange):
    """Append-only audit trail of a binding's review: the owner's claims (staff), a platform
    admin's approvals and rejections with the reason."""

    binding = models.ForeignKey(
        WeChatBinding, on_delete=models.PROTECT, related_name="status_changes"
    )
    from_status = models.CharField(max_length=12, choices=BindingStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=BindingStatus.choices)

    class Meta(StateChange.Meta):
        ordering = ["-created_at", "-id"]


class ApplymentState(models.TextChoices):
    """A 特约商户进件 application: our draft, then WeChat's states (APPLYMENT_STATE_…)."""

    DRAFT = "draft", "Draft"
    AUDITING = "auditing", "Under review"
    REJECTED = "rejected", "Rejected"
    TO_BE_CONFIRMED = "to_be_confirmed", "To be confirmed"
    TO_BE_SIGNED = "to_be_signed", "To be signed"
    SIGNING = "signing", "Signing"
    FINISHED = "finished", "Finished"
    CANCELED = "canceled", "Cancelled"


# Applications WeChat is still working on: the beat task and the admin's "waiting" filter.
APPLYMENT_OPEN_STATES = (
    ApplymentState.AUDITING, ApplymentState.TO_BE_CONFIRMED, ApplymentState.TO_BE_SIGNED,
    ApplymentState.SIGNING,
)


class WeChatApplyment(models.Model):
    """A mall's application to open a WeChat Pay sub-merchant under the platform (特约商户
    进件). Its `FINISHED` answer carries the sub-merchant number, which is then bound to the
    mall without review: WeChat opened that account for this application.

    The applicant's data (ID numbers, bank account, contact) is one Fernet token
    (tenants.secrets) and is never shown back; `filled_fields` only says which fields hold
    a value. Pictures are uploaded to WeChat and only their media ids are kept.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="applyments")
    business_code = models.CharField(max_length=64, unique=True)
    applyment_id = models.BigIntegerField(null=True, blank=True, unique=True)
    state = models.CharField(max_length=20, choices=ApplymentState.choices,
                             default=ApplymentState.DRAFT)
    subject_type = models.CharField(max_length=32, blank=True)
    merchant_shortname = models.CharField(max_length=64, blank=True)
    data_encrypted = models.TextField(blank=True)
    filled_fields = models.JSONField(default=list, blank=True)
    media_ids = models.JSONField(default=dict, blank=True)
    # Fields re-entered since WeChat's last rejection: a resubmission needs each rejected one.
    refilled_fields = models.JSONField(default=list, blank=True)
    state_message = models.CharField(max_length=300, blank=True)
    audit_detail = models.JSONField(default=list, blank=True)
    sign_url = models.URLField(max_length=500, blank=True)
    legal_validation_url = models.URLField(max_length=500, blank=True)
    sub_mchid = models.CharField(max_length=16, blank=True)
    bound_at = models.DateTimeField(null=True, blank=True)
    # Why the finished sub-merchant could not be bound (another mall holds it approved).
    flagged_reason = models.CharField(max_length=300, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_queried_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One application in progress per mall; a finished or cancelled one stays as record.
            models.UniqueConstraint(
                fields=["merchant"],
                condition=~models.Q(state__in=["finished", "canceled"]),
                name="tenants_applyment_one_open_per_merchant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.business_code} ({self.state})"


class WeChatApplymentStatusChange(StateChange):
    """Append-only history of an application: the owner's submissions, WeChat's answers as
    the platform saw them (actor WeChat Pay), the binding of the finished sub-merchant."""

    applyment = models.ForeignKey(
        WeChatApplyment, on_delete=models.PROTECT, related_name="status_changes"
    )
    from_status = models.CharField(max_length=20, choices=ApplymentState.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=ApplymentState.choices)

    class Meta(StateChange.Meta):
        ordering = ["-created_at", "-id"]
