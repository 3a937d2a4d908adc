from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scalebench", "0001_initial")]
    operations = [
        migrations.AddField("probe", "note_a", models.CharField(max_length=40, default="")),
    ]
