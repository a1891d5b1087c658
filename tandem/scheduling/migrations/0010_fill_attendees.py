"""Fill in who attends every appointment booked before appointments knew it.

Joint kinds: all of the case's clients. Individual kinds (individual assessment, conjunctive): the
partner the therapist named afterwards (pathway's AssessmentSessionFor), else the one partner the
booking held (its client occupancy rows), else the only client of an individual case. A couple's
individual session for which nothing says who keeps both partners, as its booking held them: guessing
one could send the other partner's reminders and portal entry to the wrong person; staff correct it
with scheduling.services.appointment_set_attendee. Where the therapist's note names one partner, the
other partner's client occupancy row is removed, so that occupancy follows the attendees.
"""

from django.db import migrations

INDIVIDUAL = ("individual_assessment", "conjunctive")
BATCH = 2000


def fill(apps, schema_editor):
    Appointment = apps.get_model("scheduling", "Appointment")
    Occupancy = apps.get_model("scheduling", "Occupancy")
    SessionFor = apps.get_model("pathway", "AssessmentSessionFor")
    through = Appointment.attendees.through
    noted = dict(SessionFor.objects.values_list("appointment_id", "client_id"))
    held: dict[int, set[int]] = {}
    for appointment_id, client_id in (
        Occupancy.objects.filter(resource_kind="client", appointment__kind__in=INDIVIDUAL)
        .values_list("appointment_id", "resource_id")
        .iterator(chunk_size=BATCH)
    ):
        held.setdefault(appointment_id, set()).add(client_id)
    rows = []
    not_attending: list[tuple[int, int]] = []
    for pk, kind, a, b in (
        Appointment.objects.order_by("pk")
        .values_list("pk", "kind", "case__partner_a_id", "case__partner_b_id")
        .iterator(chunk_size=BATCH)
    ):
        partners = [p for p in (a, b) if p is not None]
        who = partners
        if kind in INDIVIDUAL and len(partners) == 2:
            one = held.get(pk, set()) & set(partners)
            if noted.get(pk) in partners:
                who = [noted[pk]]
            elif len(one) == 1:
                who = list(one)
            not_attending += [(pk, p) for p in partners if p not in who and p in held.get(pk, ())]
        rows += [through(appointment_id=pk, client_id=client_id) for client_id in who]
        if len(rows) >= BATCH:
            through.objects.bulk_create(rows)
            rows = []
    through.objects.bulk_create(rows)
    for pk, client_id in not_attending:
        Occupancy.objects.filter(appointment_id=pk, resource_kind="client", resource_id=client_id).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("pathway", "0003_intake_safety_review"),
        ("scheduling", "0009_appointment_attendees"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
