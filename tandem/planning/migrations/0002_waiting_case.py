"""The kept intensive waiting list (planning/waiting.py), filled from the list's definition as it stands.

The definition is restated over the historical models: open cases whose latest plan version is intensive
and that have no intensive session, other than a cancelled one, starting since that version was made.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Exists, OuterRef, Subquery

OPEN_PHASES = ("consultation", "intake", "assessment", "treatment", "follow_up")


def fill(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    TreatmentPlan = apps.get_model("pathway", "TreatmentPlan")
    Appointment = apps.get_model("scheduling", "Appointment")
    WaitingCase = apps.get_model("planning", "WaitingCase")
    latest = TreatmentPlan.objects.filter(case=OuterRef("pk")).order_by("-version")
    booked = Appointment.objects.filter(
        case=OuterRef("pk"), kind="intensive", starts_at__gte=OuterRef("plan_at")
    ).exclude(status="cancelled")
    waiting = (
        Case.objects.filter(
            phase__in=OPEN_PHASES,
            pk__in=TreatmentPlan.objects.filter(format="intensive").values("case_id"),
        )
        .annotate(
            plan_format=Subquery(latest.values("format")[:1]),
            plan_at=Subquery(latest.values("created_at")[:1]),
        )
        .filter(plan_format="intensive")
        .exclude(Exists(booked))
        .values_list("pk", flat=True)
    )
    WaitingCase.objects.bulk_create(WaitingCase(case_id=pk) for pk in waiting)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_team_phase_index"),
        ("pathway", "0007_today_open_indexes"),
        ("scheduling", "0012_open_case_and_booked_indexes"),
        ("planning", "0001_planning_run"),
    ]

    operations = [
        migrations.CreateModel(
            name="WaitingCase",
            fields=[
                (
                    "case",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="cases.case",
                    ),
                ),
            ],
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
