"""A coordinator books an intensive from the availability options, finds it on the calendars, and a
block someone else took meanwhile is refused with the clash named."""

import datetime as dt
import re

import pytest
from django.test import Client as HttpClient
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tandem.lib.time import local_today, practice_zone
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentSeries, Mode, Occupancy
from tests.browser.test_journey_homework import staff_log_in
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_intensive_booking_journey(live_server, migration_data, desktop: Page):
    cast = build_cast()
    device = TOTPDevice.objects.create(user=cast.coordinator, name="phone", confirmed=True)
    base = live_server.url
    first_day = local_today() + dt.timedelta(days=14)
    while first_day.weekday() != 0:
        first_day += dt.timedelta(days=1)

    # The first request imports every app's views (OR-Tools, FHIR models…): on a loaded machine that
    # alone can outlast the browser's timeout, so it is paid here, in this process, first.
    HttpClient().get("/accounts/login/")
    staff_log_in(desktop, base, cast.coordinator.username, device)
    desktop.goto(f"{base}/cases/{cast.couple_case.pk}/")
    desktop.get_by_role("link", name="Find and book an intensive").click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Book an intensive for T-0001")
    desktop.get_by_label("Earliest first day").fill(first_day.isoformat())
    desktop.get_by_label("Minutes a day").fill("120")
    desktop.get_by_role("button", name="Find the earliest options").click()
    rows = desktop.locator("table.availability-options tbody tr")
    expect(rows.first).to_contain_text("07:00 (120 min)")
    expect(rows.first).to_contain_text("Tess Assigned and Colin Cotherapist")
    rows.first.get_by_role("button", name=re.compile("^Book")).click()
    expect(desktop.get_by_role("status")).to_contain_text("Intensive booked for T-0001: 10 days")

    series = AppointmentSeries.objects.get()
    assert series.appointments.count() == 10
    week = f"date={first_day.isoformat()}&span=week"
    for path in (
        f"/scheduling/calendar/therapist/{cast.therapist_a.pk}/",
        f"/scheduling/calendar/therapist/{cast.cotherapist.pk}/",
        f"/scheduling/calendar/room/{cast.room.pk}/",
    ):
        desktop.goto(f"{base}{path}?{week}")
        main = desktop.locator("main")
        expect(main).to_contain_text("T-0001")
        expect(main).to_contain_text("07:00")

    # The page offers the next block; before the coordinator clicks, someone books the room for part
    # of its third day. The click must book nothing and say what clashes.
    desktop.goto(
        f"{base}/scheduling/cases/{cast.couple_case.pk}/availability/?first_day={first_day}&daily_minutes=120"
    )
    row = desktop.locator("table.availability-options tbody tr").first
    expect(row).to_contain_text("09:00")
    third = first_day + dt.timedelta(days=2)
    zone = practice_zone()
    start = dt.datetime.combine(third, dt.time(10, 0), tzinfo=zone)
    other = Appointment.objects.create(
        case=cast.solo_case,
        kind=AppointmentKind.STANDARD,
        mode=Mode.IN_PERSON,
        room=cast.room,
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=50),
    )
    Occupancy.objects.create(
        appointment=other,
        resource_kind="room",
        resource_id=cast.room.pk,
        starts_at=other.starts_at,
        ends_at=other.ends_at,
    )
    row.get_by_role("button", name=re.compile("^Book")).click()
    alert = desktop.get_by_role("alert")
    expect(alert).to_contain_text("Room 1 is taken on")
    expect(alert).to_contain_text(f"{third.day} {third:%B}")
    expect(alert).to_contain_text("10:00")
    assert AppointmentSeries.objects.count() == 1
