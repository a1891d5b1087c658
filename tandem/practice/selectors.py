"""Reads for the director's set-up pages (the pages themselves check that the reader is the director)."""

import datetime as dt

from tandem.lib.time import local_day_bounds
from tandem.scheduling.models import Appointment, AppointmentStatus


def booked_on(day: dt.date) -> int:
    """How many appointments are still booked on a local day (closing it does not cancel them)."""
    start, end = local_day_bounds(day)
    return Appointment.objects.between(start, end).filter(status=AppointmentStatus.BOOKED).count()
