"""The demo seed writes the occupancy rows the booking services would, and they never overlap."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from tandem.scheduling import selectors
from tandem.scheduling.models import Appointment, AppointmentStatus, ResourceKind

pytestmark = pytest.mark.django_db


def test_seeded_appointments_hold_their_resources_without_overlap():
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    live = Appointment.objects.exclude(status=AppointmentStatus.CANCELLED)
    assert live.exists()
    counted = live.annotate(
        rows=Count("occupancies", distinct=True), people=Count("therapists", distinct=True)
    )
    for appointment in counted.select_related("case"):
        expected = appointment.people + len(appointment.case.partners) + (appointment.room_id is not None)
        assert appointment.rows == expected, appointment.pk
    assert not Appointment.objects.filter(
        status=AppointmentStatus.CANCELLED, occupancies__isnull=False
    ).exists()
    assert selectors.overlapping_occupancy() == []
    rooms = live.filter(room__isnull=False).count()
    assert live.filter(occupancies__resource_kind=ResourceKind.ROOM).count() == rooms
