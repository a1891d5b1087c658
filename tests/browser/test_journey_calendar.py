"""The coordinator books from a calendar day on a phone, sees it on the therapists' weeks, and a clash
is refused with a message naming it."""

import datetime as dt
import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tandem.lib.time import local_today
from tandem.scheduling.models import Appointment
from tests.browser.test_journey_homework import staff_log_in
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def label(text: str) -> re.Pattern[str]:
    # Django's form labels end in a colon, the calendar's own do not.
    return re.compile(rf"^{re.escape(text)}:?$")


def test_calendar_journey(live_server, migration_data, phone: Page, desktop: Page):
    cast = build_cast()
    device = TOTPDevice.objects.create(user=cast.coordinator, name="phone", confirmed=True)
    base = live_server.url
    day = local_today() + dt.timedelta(days=7)

    staff_log_in(phone, base, cast.coordinator.username, device)
    phone.get_by_role("link", name="Calendar", exact=True).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Calendar: Whole practice")
    phone.get_by_label(label("Calendar of")).select_option(label="Room 1, Canal Street")
    phone.get_by_label(label("Date")).fill(day.isoformat())
    phone.get_by_label(label("View")).select_option("day")
    phone.get_by_role("button", name="Show").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Calendar: Room 1, Canal Street")
    phone.get_by_role("link", name="New appointment on this day").click()

    phone.get_by_label(label("Case reference")).fill("T-0001")
    phone.get_by_label(label("Type")).select_option(label="Joint assessment")
    phone.get_by_label(label("Starts")).fill("10:00")
    phone.get_by_label(label("Ends")).fill("11:30")
    phone.get_by_role("button", name="Book").click()
    expect(phone.get_by_role("status")).to_contain_text("Booked: Joint assessment for T-0001")
    entry = phone.locator(".cal-entry")
    expect(entry).to_contain_text("10:00–11:30")  # noqa: RUF001
    expect(entry).to_contain_text("Tess Assigned & Colin Cotherapist")
    assert Appointment.objects.count() == 1

    # The individual case's video session at 11:00 would put Tess in two places.
    phone.get_by_role("link", name="New appointment on this day").click()
    phone.get_by_label(label("Case reference")).fill("T-0002")
    phone.get_by_label(label("Type")).select_option(label="Standard session")
    phone.get_by_label(label("Held")).select_option(label="Video")
    phone.get_by_label(label("Room")).select_option(label="---------")
    phone.get_by_label(label("Starts")).fill("11:00")
    phone.get_by_label(label("Ends")).fill("12:00")
    phone.get_by_role("button", name="Book").click()
    expect(phone.get_by_role("alert")).to_contain_text(
        re.compile(r"Tess Assigned already has a session on .* 10:00")
    )
    assert Appointment.objects.count() == 1

    # On a phone the week is one list per day and never scrolls sideways.
    phone.goto(f"{base}/scheduling/calendar/therapist/{cast.cotherapist.pk}/?date={day.isoformat()}")
    expect(phone.locator(".cal-entry")).to_contain_text("Joint assessment")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    columns = phone.evaluate(
        "getComputedStyle(document.querySelector('.cal-days')).gridTemplateColumns.split(' ').length"
    )
    assert columns == 1

    # On a desktop the same week is seven columns.
    # (The director, with a device of their own: a TOTP code cannot be used twice.)
    director_device = TOTPDevice.objects.create(user=cast.director, name="phone", confirmed=True)
    staff_log_in(desktop, base, cast.director.username, director_device)
    desktop.goto(f"{base}/scheduling/calendar/therapist/{cast.therapist_a.pk}/?date={day.isoformat()}")
    expect(desktop.locator(".cal-entry")).to_contain_text("T-0001")
    columns = desktop.evaluate(
        "getComputedStyle(document.querySelector('.cal-days')).gridTemplateColumns.split(' ').length"
    )
    assert columns == 7
