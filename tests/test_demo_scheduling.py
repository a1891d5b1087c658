"""The demo seed writes the occupancy rows the booking services would, and they never overlap."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from tandem.cases.models import Client
from tandem.scheduling import selectors
from tandem.scheduling.models import INDIVIDUAL_KINDS, Appointment, AppointmentStatus, ResourceKind

pytestmark = pytest.mark.django_db


def test_seeded_appointments_hold_their_resources_without_overlap():
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    live = Appointment.objects.exclude(status=AppointmentStatus.CANCELLED)
    assert live.exists()
    counted = live.annotate(
        rows=Count("occupancies", distinct=True),
        people=Count("therapists", distinct=True),
        attending=Count("attendees", distinct=True),
    )
    for appointment in counted.select_related("case"):
        expected = appointment.people + appointment.attending + (appointment.room_id is not None)
        assert appointment.rows == expected, appointment.pk
        # Only the attendees are held: both partners of a joint session, one of an individual session.
        single = appointment.kind in INDIVIDUAL_KINDS or not appointment.case.is_couple
        assert appointment.attending == (1 if single else 2), appointment.pk
    # Each couple's individual sessions alternate between the partners.
    couples_individual = Appointment.objects.filter(kind__in=INDIVIDUAL_KINDS, case__partner_b__isnull=False)
    held_by = set(couples_individual.values_list("attendees__pk", flat=True))
    assert held_by & set(Client.objects.filter(cases_as_a__isnull=False).values_list("pk", flat=True))
    assert held_by & set(Client.objects.filter(cases_as_b__isnull=False).values_list("pk", flat=True))
    assert not Appointment.objects.filter(
        status=AppointmentStatus.CANCELLED, occupancies__isnull=False
    ).exists()
    assert selectors.overlapping_occupancy() == []
    rooms = live.filter(room__isnull=False).count()
    assert live.filter(occupancies__resource_kind=ResourceKind.ROOM).count() == rooms
