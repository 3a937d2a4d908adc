"""Catalogue events name their actor with the project's one actor type (kind + id) instead of
a foreign key to a staff user. Existing rows had a staff user or nobody (the system)."""

from django.db import migrations, models

ACTOR_KINDS = [("system", "System"), ("wechat", "WeChat Pay"), ("staff", "Staff"),
               ("shopper", "Shopper"), ("platform", "Platform admin")]


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="catalogevent",
            name="actor_kind",
            field=models.CharField(choices=ACTOR_KINDS, default="system", max_length=8),
            preserve_default=False,
        ),
        migrations.RunSQL(
            "UPDATE catalog_catalogevent SET actor_kind = 'staff' WHERE actor_id IS NOT NULL",
            reverse_sql=migrations.RunSQL.noop,
        ),
        # The foreign key's column already holds the id: keep it, drop the constraint.
        migrations.AlterField(
            model_name="catalogevent",
            name="actor",
            field=models.BigIntegerField(blank=True, null=True, db_column="actor_id"),
        ),
        migrations.RenameField("catalogevent", "actor", "actor_id"),
        migrations.AlterField(
            model_name="catalogevent",
            name="actor_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
    ]
