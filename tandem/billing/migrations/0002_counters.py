from django.db import migrations


def create_counters(apps, schema_editor):
    # The rows exist before anyone issues, so issuing only ever locks and updates (never races to insert).
    counter = apps.get_model("billing", "DocumentCounter")
    for series in ("invoice", "credit_note"):
        counter.objects.get_or_create(series=series)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(create_counters, migrations.RunPython.noop)]
