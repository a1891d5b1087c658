"""Each case's plan in force is marked `current`, so that the planner's waiting list reads the current
intensive plans from one partial index. Existing rows: the highest version of each case is current."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def mark_current(apps, schema_editor):
    plan = apps.get_model("pathway", "TreatmentPlan")
    highest = plan.objects.filter(case=OuterRef("case")).order_by("-version").values("version")[:1]
    plan.objects.filter(version=Subquery(highest)).update(current=True)


class Migration(migrations.Migration):
    dependencies = [
        ("pathway", "0007_today_open_indexes"),
    ]

    operations = [
        # False first, so that no case has two current versions before the highest is chosen.
        migrations.AddField(
            model_name="treatmentplan",
            name="current",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(mark_current, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="treatmentplan",
            name="current",
            field=models.BooleanField(default=True),
        ),
        migrations.RemoveIndex(
            model_name="treatmentplan",
            name="plan_intensive_case_idx",
        ),
        migrations.AddIndex(
            model_name="treatmentplan",
            index=models.Index(
                condition=models.Q(("current", True), ("format", "intensive")),
                fields=["case"],
                name="plan_current_intensive_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="treatmentplan",
            constraint=models.UniqueConstraint(
                condition=models.Q(("current", True)), fields=("case",), name="plan_one_current"
            ),
        ),
    ]
