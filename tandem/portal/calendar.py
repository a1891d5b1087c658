"""Add-to-calendar for one appointment: an iCalendar file that says when and where, and nothing clinical.

The file ends up in calendars that other people and services may read, so it names neither the kind of
session nor the therapist: only "Appointment at <practice>", the time and the place.
"""

import datetime as dt

from django.conf import settings
from icalendar import Calendar, Event

from tandem.scheduling.models import Appointment, Mode


def appointment_ics(appointment: Appointment, *, now: dt.datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Tandem//Client portal//EN")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"appointment-{appointment.pk}@tandem")
    event.add("dtstamp", now)
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("summary", f"Appointment at {settings.PRACTICE_NAME}")
    if appointment.mode == Mode.IN_PERSON and appointment.room is not None:
        location = appointment.room.location
        parts = (location.name, location.address.replace("\n", ", "))
        event.add("location", ", ".join(part for part in parts if part))
    else:
        event.add("location", appointment.get_mode_display())
    calendar.add_component(event)
    return calendar.to_ical()
