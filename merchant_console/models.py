"""What the console itself keeps: staff invitations and the tamper-evident audit log.

Staff accounts are Django users of the mall's schema (`is_staff`); a role is a Django group
(merchant_console.roles). The owner is the mall's superuser."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ConsoleArea(models.Model):
    """No table: the holder of the console's own permissions, those no domain model owns."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", "Can see the sales dashboards"),
            ("view_finance", "Can see the ledger, reconciliation and payouts"),
            ("manage_settings", "Can change the mall's settings"),
            ("manage_staff", "Can invite staff and change their roles"),
            ("view_audit", "Can read the staff audit log"),
        ]


class StaffInvitation(models.Model):
    """An e-mailed link that makes its holder a staff member with `role`. Only the token's
    SHA-256 is kept: the link itself is in the e-mail alone."""

    email = models.EmailField()
    role = models.CharField(max_length=32)
    token_sha256 = models.CharField(max_length=64, unique=True)
    # User ids, not foreign keys: users of the public schema (platform admins) share the
    # model, and a foreign key would make deleting one look for this mall-only table.
    invited_by_id = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    accepted_user_id = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open invitation per address: inviting again replaces the link.
            models.UniqueConstraint(
                fields=["email"], condition=models.Q(accepted_at=None, revoked_at=None),
                name="one_open_invitation_per_email",
            ),
        ]


class AuditEntry(models.Model):
    """One staff action. Rows are append-only (a trigger) and chained: each carries the
    SHA-256 of its own content and of the row before it, so altering or removing a row in
    the database breaks the chain (`manage.py audit_check`)."""

    at = models.DateTimeField()
    actor_id = models.IntegerField(null=True)  # a user id (see StaffInvitation)
    actor_email = models.CharField(max_length=254)
    area = models.CharField(max_length=32, db_index=True)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["actor_id", "-id"]), models.Index(fields=["at"])]


def _export_path(job: ExportJob, file_name: str) -> str:
    return f"exports/{job.pk}/{file_name}"


class ExportJob(models.Model):
    """One export of goods, orders or the finance journal, written by a Celery task
    (merchant_console.exports) into the mall's media storage and downloaded from its page.

    `parameters` are the filters as given when it was requested, so re-running the task
    (a worker that died mid-file) writes the same file again from scratch."""

    class Kind(models.TextChoices):
        GOODS = "goods", pgettext_lazy("export kind", "Goods")
        ORDERS = "orders", pgettext_lazy("export kind", "Orders")
        FINANCE = "finance", pgettext_lazy("export kind", "Finance journal")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Finished")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    parameters = models.JSONField(default=dict, blank=True)
    file_format = models.CharField(max_length=4)
    requested_by_id = models.IntegerField()  # a user id (see StaffInvitation)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to=_export_path, max_length=300, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(self.rows_done * 100 / self.rows_total))


class FormSubmission(models.Model):
    """A create form's submission (its one-time token and fields, hashed), and where it
    went: the same form posted again (a double click, a browser resending a POST on a
    dropped connection) is sent there instead of making a second copy
    (merchant_console.form_once)."""

    key = models.CharField(max_length=64, unique=True)
    location = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
