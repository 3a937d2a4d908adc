from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scalebench", "0002_note_a")]
    operations = [
        migrations.AddField("probe", "note_b", models.CharField(max_length=40, default="")),
    ]
