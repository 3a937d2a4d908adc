from django.db import migrations, models

# code: yearly price (two months free), tiers, plugins, custom domain
LIMITS = {
    "starter": (99000, 2, [], False),
    "growth": (299000, 3, ["level_rates", "stage_bonus"], False),
    "pro": (999000, 3, ["level_rates", "stage_bonus", "team_reward"], True),
}


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for code, (yearly, tiers, plugins, domain) in LIMITS.items():
        Plan.objects.filter(code=code).update(
            yearly_price_fen=yearly, max_distribution_tiers=tiers, marketing_plugins=plugins,
            custom_domain=domain,
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_seed_plans")]

    operations = [
        migrations.AddField(
            model_name="plan", name="yearly_price_fen",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="plan", name="max_distribution_tiers",
            field=models.PositiveSmallIntegerField(default=3),
        ),
        migrations.AddField(
            model_name="plan", name="marketing_plugins",
            field=models.JSONField(blank=True, default=list,
                                   help_text="Codes of the marketing plugins the plan includes."),
        ),
        migrations.AddField(
            model_name="plan", name="custom_domain",
            field=models.BooleanField(default=False,
                                      help_text="Whether the mall may serve on a domain of its own."),
        ),
        migrations.AddConstraint(
            model_name="plan",
            constraint=models.CheckConstraint(
                condition=models.Q(max_distribution_tiers__gte=1, max_distribution_tiers__lte=3),
                name="billing_plan_tiers_capped",
            ),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
