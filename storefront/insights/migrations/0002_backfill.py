"""A mall that sold before the dashboards existed: its rollups from its orders."""

from django.db import migrations


def backfill(apps, schema_editor):
    from storefront.insights.rollups import rollups_rebuild

    rollups_rebuild()


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0001_rollups"),
        ("orders", "0003_hardening_refunds"),
        ("distribution", "0002_append_only_histories"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
