"""A new practice, from an empty database (`migrate` only), set up to its first booking entirely in the
set-up pages. The first director comes to exist as the README says: `manage.py staff_link --new-director`
prints a set-up link, with which she sets her password and authenticator. Then practice and policy (the
mixed-gender team rule), a location and room, public holidays, an appointment type, three therapists
invited by e-mail (one sets her password and authenticator through the link), a co-therapy team (the
rule refuses two men, by name, and accepts a mixed pair), working hours; then a case and the first
appointment from the calendar's new-appointment form."""

import datetime as dt
import re
from base64 import b32decode
from io import StringIO
from urllib.parse import urlsplit

import holidays
import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tandem.accounts.models import CoTherapyTeam, Role, User
from tandem.cases.models import Case
from tandem.lib.time import local_today
from tandem.practice.models import Practice, PracticeClosure, PracticePolicy, Room
from tandem.scheduling.models import Appointment
from tests.accounts_support import code_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NINA_PASSWORD = "lilac-orchard-compass-58"
DEE_PASSWORD = "granite-heron-lantern-91"


def label(text: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(text)}:?$")


def _first_open_weekday() -> dt.date:
    """A weekday at least a week ahead that is not a public holiday (the journey imports them)."""
    day = local_today() + dt.timedelta(days=7)
    closed = holidays.country_holidays(settings.PRACTICE_COUNTRY, years=[day.year, day.year + 1])
    while day.weekday() >= 5 or day in closed:
        day += dt.timedelta(days=1)
    return day


def _set_up_practice(page: Page) -> None:
    page.get_by_role("link", name="Set-up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Practice set-up")
    page.get_by_label(label("Practice name")).fill("Lindenfield Couples Practice")
    page.get_by_role("button", name="Save the practice").click()
    expect(page.get_by_role("status")).to_contain_text("details are saved")
    page.get_by_label(label("Co-therapy team rule")).select_option(label="One female and one male therapist")
    page.get_by_label(label("Late cancellation notice (hours)")).fill("48")
    page.get_by_role("button", name="Save the policy").click()
    expect(page.get_by_role("status")).to_contain_text("policy is saved")

    page.get_by_role("link", name="Locations and rooms").click()
    page.get_by_label(label("Location name")).fill("Mill Lane")
    page.get_by_role("button", name="Add location").click()
    page.get_by_label(label("Room name")).fill("Garden room")
    page.get_by_role("button", name="Add room").click()
    expect(page.get_by_role("table")).to_contain_text("Garden room")

    page.get_by_role("link", name="Closures").click()
    page.get_by_role("button", name="Import public holidays").click()
    expect(page.get_by_role("status")).to_contain_text("public holiday(s) added")

    page.get_by_role("link", name="Appointment types").click()
    section = page.get_by_role("region", name=re.compile("^Standard session"))
    section.get_by_label(label("Usual length (minutes)")).fill("50")
    section.get_by_role("button", name="Save standard session").click()
    expect(page.get_by_role("status")).to_contain_text("Standard session: saved")


def _invite_therapist(page: Page, first: str, last: str, gender: str) -> str:
    page.get_by_role("link", name="Staff and teams").click()
    email = f"{first.lower()}@staff.tandem.invalid"
    page.get_by_label(label("First name")).fill(first)
    page.get_by_label(label("Last name")).fill(last)
    page.get_by_label(label("E-mail address (the set-up link goes here)")).fill(email)
    page.get_by_label(label("Role")).select_option(label="Therapist")
    page.get_by_label(label("Gender (therapists: the team rule reads it)")).select_option(label=gender)
    page.get_by_label(label("Degrees and titles (therapists)")).fill("MSc, registered sex therapist")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text(f"Invitation e-mailed to {email}")
    expect(page.get_by_role("table")).to_contain_text("Set-up link sent")
    found = re.search(r"https?://\S+/accounts/welcome/\S+/", mail.outbox[-1].body)
    assert found is not None
    return found.group(0)


def _accepts(page: Page, link: str, password: str) -> None:
    """Follow a set-up link: choose a password and enrol the authenticator in one step, then log in."""
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your account")
    assert "/welcome/set-up/" in page.url  # the token left the address bar
    page.get_by_label(label("Choose a password")).fill(password)
    page.get_by_label(label("Type the password again")).fill(password)
    secret = page.locator("code.codes").inner_text().replace(" ", "")
    device = TOTPDevice(key=b32decode(secret).hex())
    page.get_by_label(label("Six-digit code from your authenticator app")).fill(code_for(device))
    page.get_by_role("button", name="Set up and log in").click()
    expect(page.locator(".codes")).to_be_visible()
    page.get_by_role("link", name="I have saved them, continue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Today")


def _first_director(page: Page, base: str) -> None:
    """What the README tells a new installation to run, then the printed link in the browser."""
    printed = StringIO()
    call_command(
        "staff_link",
        "dee@staff.tandem.invalid",
        "--new-director",
        "--first-name",
        "Dee",
        "--last-name",
        "Rector",
        stdout=printed,
    )
    found = re.search(r"https?://\S+/accounts/welcome/\S+/", printed.getvalue())
    assert found is not None
    # The command prints PORTAL_BASE_URL's address; the journey's server listens elsewhere.
    _accepts(page, base + urlsplit(found.group(0)).path, DEE_PASSWORD)


def _form_teams(page: Page) -> None:
    page.get_by_role("link", name="Staff and teams").click()
    expect(page.get_by_role("main")).to_contain_text("One female and one male therapist")
    page.get_by_label(label("First therapist")).select_option(label="Omar Okafor")
    page.get_by_label(label("Second therapist")).select_option(label="Pim Peeters")
    page.get_by_role("button", name="Form team").click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("team rule (one female and one male therapist)")
    expect(refusal).to_contain_text("Omar Okafor and Pim Peeters")
    page.get_by_label(label("First therapist")).select_option(label="Nina Newcomer")
    page.get_by_label(label("Second therapist")).select_option(label="Omar Okafor")
    page.get_by_role("button", name="Form team").click()
    expect(page.get_by_role("status")).to_contain_text("Team formed: Nina Newcomer & Omar Okafor")


def _working_hours(page: Page, day: dt.date) -> None:
    page.get_by_role("link", name="Set-up").click()
    page.get_by_role("link", name="Working hours and time off").click()
    page.get_by_label(label("Therapist")).select_option(label="Nina Newcomer")
    page.get_by_role("button", name="Show").click()
    page.get_by_label(label("Location")).select_option(label="Mill Lane")
    page.get_by_label(label("Day")).select_option(label=f"{day:%A}")
    page.get_by_label(label("From")).first.fill("09:00")
    page.get_by_label(label("Until")).first.fill("17:00")
    page.get_by_role("button", name="Add working hours").click()
    expect(page.get_by_role("status")).to_contain_text("Working hours added")


def _open_case_and_book(page: Page, day: dt.date) -> str:
    page.goto(page.url.split("/practice/")[0] + "/cases/new/")
    page.locator("#id_a-first_name").fill("Robin")
    page.locator("#id_a-last_name").fill("Example")
    page.locator("#id_b-first_name").fill("Sasha")
    page.locator("#id_b-last_name").fill("Example")
    page.get_by_label(label("Therapist")).select_option(label="Nina Newcomer")
    page.get_by_role("button", name="Open case").click()
    expect(page.get_by_role("status")).to_contain_text("opened")
    reference = Case.objects.get().reference
    assert reference is not None

    page.get_by_role("link", name="Calendar").click()
    page.goto(page.url.split("/scheduling/")[0] + "/scheduling/calendar/new/")
    page.get_by_label(label("Case reference")).fill(reference)
    page.get_by_label(label("Type")).select_option(label="Standard session")
    page.get_by_label(label("Date")).fill(day.isoformat())
    page.get_by_label(label("Starts")).fill("10:00")
    page.get_by_label(label("Ends")).fill("10:50")
    page.get_by_label(label("Room")).select_option(label="Garden room, Mill Lane")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("status")).to_contain_text(f"Booked: Standard session for {reference}")
    return reference


def test_new_practice_is_set_up_to_its_first_booking(live_server, migration_data, desktop: Page, phone: Page):
    # What `migrate` leaves: no practice, no policy, no rooms, nobody.
    assert not Practice.objects.exists() and not PracticePolicy.objects.exists()
    assert not User.objects.exists()
    day = _first_open_weekday()

    _first_director(desktop, live_server.url)
    _set_up_practice(desktop)
    link = _invite_therapist(desktop, "Nina", "Newcomer", "Female")
    _invite_therapist(desktop, "Omar", "Okafor", "Male")
    _invite_therapist(desktop, "Pim", "Peeters", "Male")
    _accepts(phone, link, NINA_PASSWORD)
    _form_teams(desktop)
    _working_hours(desktop, day)
    reference = _open_case_and_book(desktop, day)

    director = User.objects.get(role=Role.DIRECTOR)
    assert director.email == "dee@staff.tandem.invalid" and director.has_usable_password()
    assert TOTPDevice.objects.filter(user=director, confirmed=True).count() == 1
    nina = User.objects.get(email="nina@staff.tandem.invalid")
    appointment = Appointment.objects.get()
    assert appointment.case.reference == reference
    assert list(appointment.therapists.all()) == [nina]
    assert appointment.room == Room.objects.get(name="Garden room")
    assert PracticePolicy.objects.get().late_cancel_hours == 48
    assert PracticeClosure.objects.exists()
    assert TOTPDevice.objects.filter(user=nina, confirmed=True).count() == 1
    (team,) = CoTherapyTeam.objects.all()
    assert {team.first.last_name, team.second.last_name} == {"Newcomer", "Okafor"}
