"""The distribution engine's audit trails are append-only (core.db.append_only)."""

from django.db import migrations

import core.db


class Migration(migrations.Migration):
    dependencies = [("distribution", "0001_initial"), ("core", "0001_initial")]

    operations = [
        core.db.append_only(table)
        for table in (
            "distribution_distributorevent",
            "distribution_recruitmentchange",
            "distribution_levelchange",
            "distribution_bindingchange",
            "distribution_commissionevent",
            "distribution_statementevent",
            "distribution_withdrawalevent",
        )
    ]
