"""WeChat Pay bindings wait for a platform admin's approval (pending / approved / rejected),
with an append-only review history; only one approved binding per sub-merchant number.

Existing bindings: a verified one becomes approved. It was verified with WeChat and bound
before approvals existed; cutting every live mall's payments at the deploy until an admin
went through them all would cost real merchants real sales. Each gets a history row by the
system saying so, so admins can find and re-check them (filter the history by that reason).
A binding left unverified or failed (no code path saves one) becomes pending.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import core.db

ACTOR_KINDS = [("system", "System"), ("wechat", "WeChat Pay"), ("staff", "Staff"),
               ("shopper", "Shopper"), ("platform", "Platform admin")]
STATUSES = [("pending", "Pending approval"), ("approved", "Approved"),
            ("rejected", "Rejected")]
GRANDFATHERED = "bound before platform approval was required"


def review_existing_bindings(apps, schema_editor):
    binding_model = apps.get_model("tenants", "WeChatBinding")
    change_model = apps.get_model("tenants", "WeChatBindingStatusChange")
    now = django.utils.timezone.now()
    for binding in binding_model.objects.order_by("pk"):
        approved = binding.status == "verified"
        binding.status = "approved" if approved else "pending"
        binding.save(update_fields=["status"])
        change_model.objects.create(
            binding=binding, from_status="", to_status=binding.status, actor_kind="system",
            reason=GRANDFATHERED if approved else f"{GRANDFATHERED}; never verified",
            reference=binding.sub_mchid, created_at=now,
        )


def unreview_bindings(apps, schema_editor):
    binding_model = apps.get_model("tenants", "WeChatBinding")
    binding_model.objects.filter(status="approved").update(status="verified")
    binding_model.objects.exclude(status="verified").update(status="unverified")


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_initial"),
        ("tenants", "0003_merchant_status_change_actor"),
    ]

    operations = [
        migrations.CreateModel(
            name="WeChatBindingStatusChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("actor_kind", models.CharField(choices=ACTOR_KINDS, max_length=8)),
                ("actor_id", models.BigIntegerField(blank=True, null=True)),
                ("reason", models.CharField(blank=True, max_length=200)),
                ("reference", models.CharField(blank=True, max_length=64)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("from_status", models.CharField(blank=True, choices=STATUSES, max_length=12)),
                ("to_status", models.CharField(choices=STATUSES, max_length=12)),
                ("binding", models.ForeignKey(
                    on_delete=django.db.models.deletion.PROTECT, related_name="status_changes",
                    to="tenants.wechatbinding",
                )),
            ],
            options={"ordering": ["-created_at", "-id"], "abstract": False},
        ),
        migrations.AlterField(
            model_name="wechatbinding",
            name="status",
            field=models.CharField(choices=STATUSES, default="pending", max_length=12),
        ),
        migrations.AlterField(
            model_name="wechatbinding",
            name="sub_mchid",
            field=models.CharField(db_index=True, max_length=16),
        ),
        migrations.AddConstraint(
            model_name="wechatbinding",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "approved")), fields=("sub_mchid",),
                name="tenants_binding_one_approved_per_sub_mchid",
            ),
        ),
        core.db.append_only("tenants_wechatbindingstatuschange"),
        # Last: no schema change may follow rows inserted in the same transaction (their
        # deferred foreign-key checks would still be pending).
        migrations.RunPython(review_existing_bindings, unreview_bindings),
    ]
