"""Order history rows take the project's one actor type and a reference; after-sales cases
get a history of their own; both histories become append-only in the database."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import core.db


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_initial"),
        ("orders", "0001_initial"),
    ]

    operations = [
        migrations.RenameField("orderstatuschange", "actor_type", "actor_kind"),
        migrations.RenameField("orderstatuschange", "note", "reason"),
        migrations.AlterField(
            model_name="orderstatuschange",
            name="actor_kind",
            field=models.CharField(
                choices=[("system", "System"), ("wechat", "WeChat Pay"), ("staff", "Staff"),
                         ("shopper", "Shopper"), ("platform", "Platform admin")],
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="orderstatuschange",
            name="reference",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="orderstatuschange",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="orderstatuschange",
            name="order",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="status_changes",
                to="orders.order",
            ),
        ),
        migrations.CreateModel(
            name="AfterSalesEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("actor_kind", models.CharField(
                    choices=[("system", "System"), ("wechat", "WeChat Pay"), ("staff", "Staff"),
                             ("shopper", "Shopper"), ("platform", "Platform admin")],
                    max_length=8,
                )),
                ("actor_id", models.BigIntegerField(blank=True, null=True)),
                ("reason", models.CharField(blank=True, max_length=200)),
                ("reference", models.CharField(blank=True, max_length=64)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("from_status", models.CharField(
                    blank=True, max_length=12,
                    choices=[("requested", "Requested"),
                             ("approved", "Approved, refund in progress"),
                             ("rejected", "Rejected"), ("refunded", "Refunded"),
                             ("withdrawn", "Withdrawn")],
                )),
                ("to_status", models.CharField(
                    max_length=12,
                    choices=[("requested", "Requested"),
                             ("approved", "Approved, refund in progress"),
                             ("rejected", "Rejected"), ("refunded", "Refunded"),
                             ("withdrawn", "Withdrawn")],
                )),
                ("case", models.ForeignKey(
                    on_delete=django.db.models.deletion.PROTECT, related_name="events",
                    to="orders.aftersalesrequest",
                )),
            ],
            options={"ordering": ["created_at", "id"], "abstract": False},
        ),
        core.db.append_only("orders_orderstatuschange"),
        core.db.append_only("orders_aftersalesevent"),
    ]
