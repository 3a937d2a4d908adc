"""Lifecycle history rows take the project's one actor type (kind + id) and a reference,
and become append-only in the database. Existing rows were made by a platform admin or by
nobody (the system)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import core.db

ACTOR_KINDS = [("system", "System"), ("wechat", "WeChat Pay"), ("staff", "Staff"),
               ("shopper", "Shopper"), ("platform", "Platform admin")]
STATUSES = [("trial", "Trial"), ("active", "Active"), ("past_due", "Past due"),
            ("suspended", "Suspended"), ("closed", "Closed")]


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_initial"),
        ("tenants", "0002_wechat_binding"),
    ]

    operations = [
        migrations.AddField(
            model_name="merchantstatuschange",
            name="actor_kind",
            field=models.CharField(choices=ACTOR_KINDS, default="system", max_length=8),
            preserve_default=False,
        ),
        migrations.RunSQL(
            "UPDATE tenants_merchantstatuschange SET actor_kind = 'platform' "
            "WHERE actor_id IS NOT NULL",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="merchantstatuschange",
            name="actor",
            field=models.BigIntegerField(blank=True, null=True, db_column="actor_id"),
        ),
        migrations.RenameField("merchantstatuschange", "actor", "actor_id"),
        migrations.AlterField(
            model_name="merchantstatuschange",
            name="actor_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="merchantstatuschange",
            name="reference",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="merchantstatuschange",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="merchantstatuschange",
            name="from_status",
            field=models.CharField(blank=True, choices=STATUSES, max_length=16),
        ),
        migrations.AlterField(
            model_name="merchantstatuschange",
            name="merchant",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="status_changes",
                to="tenants.merchant",
            ),
        ),
        migrations.AlterModelOptions(
            name="merchantstatuschange",
            options={"ordering": ["-created_at", "-id"]},
        ),
        core.db.append_only("tenants_merchantstatuschange"),
    ]
