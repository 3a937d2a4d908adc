"""The distribution engine's audit trails are append-only (core.db.append_only), and
commissions leave room for HOT updates."""

from django.db import migrations

import core.db


class Migration(migrations.Migration):
    dependencies = [("distribution", "0001_initial"), ("core", "0001_initial")]

    operations = [
        # Room in each page for HOT updates of commissions' status (see Commission).
        migrations.RunSQL("ALTER TABLE distribution_commission SET (fillfactor = 70)",
                          "ALTER TABLE distribution_commission RESET (fillfactor)"),
    ] + [
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
