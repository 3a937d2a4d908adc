from django.db import migrations

PLANS = [
    # code, name, monthly price (fen), max products, max staff, trial days, default
    ("starter", "Starter 基础版", 9900, 200, 3, 14, True),
    ("growth", "Growth 成长版", 29900, 2000, 10, 14, False),
    ("pro", "Pro 旗舰版", 99900, 0, 0, 14, False),
]


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for order, (code, name, price, products, staff, trial, default) in enumerate(PLANS):
        Plan.objects.update_or_create(
            code=code,
            defaults={
                "name": name, "monthly_price_fen": price, "max_products": products,
                "max_staff": staff, "trial_days": trial, "is_default": default,
                "sort_order": order,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
