"""Issue 14's acceptance journey: a couple from the free consultation booked on the public site, through
intake, an assessment with an individual session for each partner, an intensive with a mixed-gender
co-therapy team, to discharge. Each partner's portal shows only their own sessions (and the joint ones);
after discharge nothing of the case is booked or waiting to be reminded; the timeline shows every step.

What a browser cannot wait for, the sessions taking place, is done directly (`_time_passes`), as the
other pathway journeys do; everything a person does is done on the pages."""

import datetime as dt
import re

import pytest
from django.db.models import F
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tandem.accounts.models import Role
from tandem.cases.models import Case, Phase
from tandem.lib.time import local_today
from tandem.notify.models import Job, JobKind, JobState
from tandem.notify.services import schedule_due
from tandem.public.models import ConsultationRequest
from tandem.scheduling.models import Appointment, AppointmentStatus, Occupancy
from tests.browser.test_journey_case import log_in
from tests.browser.test_journey_pathway import SAFETY, _portal_log_in, warm_up
from tests.cast import build_cast, make_user
from tests.public_support import offers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def label(text: str) -> re.Pattern[str]:
    # Django's form labels may end in a colon, the pages' own do not.
    return re.compile(rf"^{re.escape(text)}:?$")


def _time_passes(case: Case) -> None:
    """The case's booked sessions take place: its whole history moves back so that the last booked session
    ended an hour ago (the order of events kept), and what was booked is marked attended."""
    booked = Appointment.objects.filter(case=case, status=AppointmentStatus.BOOKED)
    last = booked.order_by("-ends_at").values_list("ends_at", flat=True).first()
    assert last is not None
    shift = last - timezone.now() + dt.timedelta(hours=1)
    booked.update(status=AppointmentStatus.ATTENDED)
    everything = Appointment.objects.filter(case=case)
    everything.update(starts_at=F("starts_at") - shift, ends_at=F("ends_at") - shift)
    Occupancy.objects.filter(appointment__case=case).update(
        starts_at=F("starts_at") - shift, ends_at=F("ends_at") - shift
    )


def _book(
    page: Page, base: str, case: Case, *, kind: str, day: dt.date, start: str, attends: str = ""
) -> None:
    """One appointment from the calendar's single-appointment form."""
    page.goto(f"{base}/scheduling/calendar/new/?date={day.isoformat()}")
    page.get_by_label(label("Case reference")).fill(case.reference or "")
    page.get_by_label(label("Type")).select_option(label=kind)
    page.get_by_label(label("Date")).fill(day.isoformat())
    page.get_by_label(label("Starts")).fill(start)
    page.get_by_label(label("Room")).select_option(index=1)  # the practice's one room
    if attends:
        page.get_by_label(label("Who attends")).select_option(label=attends)
    page.get_by_role("button", name="Book").click()
    if page.get_by_role("alert").count():  # a refusal: say it, rather than time out on the message
        pytest.fail(page.get_by_role("alert").first.inner_text())
    expect(page.get_by_role("status")).to_contain_text(f"Booked: {kind} for {case.reference}")


def _portal_shows(page: Page, base: str, username: str, *, mine: list[str], not_mine: list[str]) -> None:
    _portal_log_in(page, base, username)
    upcoming = page.get_by_role("region", name="Your next appointments")
    for when in mine:
        expect(upcoming).to_contain_text(when)
    for when in not_mine:
        expect(upcoming).not_to_contain_text(when)
    page.get_by_role("button", name="Log out").click()


def _shown(day: dt.date, time: str) -> str:
    # As the portal writes a start: "Monday 14 June, 10:00".
    return f"{day:%A} {day.day} {day:%B}, {time}"


def _consultation_booked_online(phone: Page, base: str) -> None:
    phone.goto(f"{base}/consultation/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Book a free 20-minute consultation")
    phone.get_by_label("Video call").check()
    phone.get_by_label(re.compile(r"\d\d:\d\d with Tess")).first.check()
    phone.get_by_label("Your name").fill("Robin Visitor")
    phone.get_by_label("E-mail address").fill("robin@example.invalid")
    phone.get_by_label(re.compile("What would you like to talk about")).fill("We have drifted apart.")
    phone.get_by_label(re.compile("I have read the privacy notice")).check()
    phone.get_by_role("button", name="Book this consultation").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your free consultation is booked")


def _converted_with_team(desktop: Page, base: str, cast, team_name: str) -> Case:
    """The coordinator converts the request (naming the partner) and assigns the co-therapy team."""
    log_in(
        desktop,
        base,
        cast.coordinator.username,
        TOTPDevice.objects.create(user=cast.coordinator, name="p", confirmed=True),
    )
    desktop.get_by_role("link", name="Inbox", exact=True).first.click()
    desktop.get_by_role("row", name=re.compile("Robin Visitor")).get_by_role("link").first.click()
    desktop.get_by_label("Partner's first name").fill("Sasha")
    desktop.get_by_label("Partner's last name").fill("Visitor")
    desktop.get_by_label("Invite to the portal everyone with an e-mail address").uncheck()
    desktop.get_by_role("button", name="Convert to a case in intake").click()
    expect(desktop.get_by_role("status")).to_contain_text("moved to intake")
    request = ConsultationRequest.objects.get()
    assert request.case is not None
    desktop.goto(f"{base}/cases/{request.case.pk}/")
    desktop.get_by_role("link", name="Change assignment").click()
    desktop.get_by_label(label("Therapist")).select_option(label="— none —")
    desktop.get_by_label(label("Co-therapy team")).select_option(label=team_name)
    desktop.get_by_role("button", name="Save").click()
    expect(desktop.get_by_role("status")).to_contain_text("Case updated")
    desktop.get_by_role("button", name="Log out").click()
    return Case.objects.with_people().get(pk=request.case.pk)


def _intake_and_assessment(page: Page, case: Case) -> None:
    for partner in case.partners:
        page.get_by_role("link", name=f"Record intake of {partner.full_name}").click()
        page.get_by_label("Contact details and date of birth confirmed with them").check()
        page.get_by_label("Presenting concerns, in their own words").fill("We have drifted apart.")
        for question in SAFETY:
            page.get_by_role("group", name=question).get_by_label("No", exact=True).check()
        page.get_by_role("button", name="Save").click()
        page.get_by_role("link", name=f"Record consent of {partner.full_name}").click()
        page.get_by_label("They have read the consent to treatment and agreed to it").check()
        page.get_by_role("button", name="Record consent").click()
        expect(page.locator(".messages")).to_contain_text("Consent to treatment")
    page.get_by_role("link", name="Start assessment").click()
    page.get_by_role("button", name="Start assessment").click()
    expect(page.locator(".messages")).to_contain_text("now in assessment")


def _intensive_booked(page: Page, base: str, case: Case, first_day: dt.date) -> None:
    page.goto(f"{base}/cases/{case.pk}/")
    page.get_by_role("link", name="Write the treatment plan").click()
    page.get_by_label("Intensive (co-therapy team, daily sessions)").check()
    page.get_by_label("Goals").fill("Restore closeness; reduce performance anxiety.")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Start treatment").click()
    page.get_by_role("button", name="Start treatment").click()
    expect(page.locator(".messages")).to_contain_text("now in treatment")
    page.get_by_role("link", name="Find and book an intensive").first.click()
    page.get_by_label("Earliest first day").fill(first_day.isoformat())
    page.get_by_label("Minutes a day").fill("120")
    page.get_by_role("button", name="Find the earliest options").click()
    rows = page.locator("table.availability-options tbody tr")
    expect(rows.first).to_contain_text("Tess Assigned and Colin Cotherapist")
    rows.first.get_by_role("button", name=re.compile("^Book")).click()
    expect(page.get_by_role("status")).to_contain_text(f"Intensive booked for {case.reference}: 10 days")


def test_a_couple_from_the_free_consultation_to_discharge(
    live_server, migration_data, desktop: Page, phone: Page
):
    cast = build_cast()
    offers(cast.therapist_a)
    base = live_server.url
    warm_up(desktop, base)

    _consultation_booked_online(phone, base)
    case = _converted_with_team(desktop, base, cast, str(cast.couple_case.team))
    assert case.is_couple and case.phase == Phase.INTAKE and case.team_id == cast.couple_case.team_id
    # Their portal accounts (the invitation itself is proven by the portal's own tests).
    robin, sasha = case.partners
    for client, username in ((robin, "robin.visitor"), (sasha, "sasha.visitor")):
        client.user = make_user(username, Role.CLIENT, first=client.first_name, last=client.last_name)
        client.save(update_fields=["user"])

    therapist = cast.therapist_a
    log_in(
        desktop, base, therapist.username, TOTPDevice.objects.create(user=therapist, name="p", confirmed=True)
    )
    desktop.goto(f"{base}/cases/{case.pk}/")
    _intake_and_assessment(desktop, case)

    # The assessment: a joint session and one individual session for each partner, each booked for them.
    day = local_today() + dt.timedelta(days=3)
    _book(desktop, base, case, kind="Joint assessment", day=day, start="10:00")
    robins_day, sashas_day = day + dt.timedelta(days=1), day + dt.timedelta(days=2)
    _book(
        desktop,
        base,
        case,
        kind="Individual assessment",
        day=robins_day,
        start="11:00",
        attends="First partner on the case, alone",
    )
    _book(
        desktop,
        base,
        case,
        kind="Individual assessment",
        day=sashas_day,
        start="12:00",
        attends="Second partner on the case, alone",
    )
    joint, robins, sashas = _shown(day, "10:00"), _shown(robins_day, "11:00"), _shown(sashas_day, "12:00")
    _portal_shows(phone, base, "robin.visitor", mine=[joint, robins], not_mine=[sashas])
    _portal_shows(phone, base, "sasha.visitor", mine=[joint, sashas], not_mine=[robins])

    _time_passes(case)
    _intensive_booked(desktop, base, case, local_today() + dt.timedelta(days=14))
    _time_passes(case)
    desktop.goto(f"{base}/cases/{case.pk}/")
    desktop.get_by_role("link", name="Finish treatment, start follow-up").click()
    desktop.get_by_role("button", name="Finish treatment, start follow-up").click()
    expect(desktop.locator(".messages")).to_contain_text("now in follow-up")

    # A follow-up visit is booked for tomorrow; its reminders are queued.
    tomorrow = local_today() + dt.timedelta(days=1)
    _book(desktop, base, case, kind="Follow-up visit", day=tomorrow, start="10:00")
    visit = Appointment.objects.get(case=case, status=AppointmentStatus.BOOKED)
    schedule_due(now=visit.starts_at - dt.timedelta(hours=2))
    reminders = Job.objects.filter(
        kind=JobKind.APPOINTMENT_REMINDER,
        state=JobState.PENDING,
        object_id__in=case.appointments.values("pk"),
    )
    assert reminders.count() == 2

    desktop.goto(f"{base}/cases/{case.pk}/")
    desktop.get_by_role("link", name="Discharge", exact=True).click()
    desktop.get_by_label("Reason for moving on although a rule is not met").fill(
        "The couple moved abroad; the follow-up contacts will not take place here."
    )
    expect(desktop.get_by_role("group", name="Future appointments cancelled with the case")).to_contain_text(
        "Follow-up visit"
    )
    desktop.get_by_label("Cancel these 1 appointment with the case").check()
    desktop.get_by_role("button", name="Discharge").click()
    expect(desktop.locator(".messages")).to_contain_text("now in discharged")

    case.refresh_from_db()
    assert case.phase == Phase.DISCHARGED
    assert not case.appointments.filter(
        status=AppointmentStatus.BOOKED, starts_at__gt=timezone.now()
    ).exists()
    schedule_due(now=timezone.now())  # the worker's next pass withdraws the cancelled visit's reminders
    assert not reminders.exists()
    timeline = desktop.get_by_role("region", name="Timeline")
    for step in (
        "Opened in consultation",
        "Free consultation",
        "Consultation → Intake",
        "Intake → Assessment",
        "Joint assessment",
        "Individual assessment",
        "Treatment plan version 1: Intensive",
        "Assessment → Treatment",
        "Intensive session",
        "Treatment → Follow-up",
        "Follow-up → Discharged",
    ):
        expect(timeline).to_contain_text(step)
    expect(timeline).not_to_contain_text("Follow-up visit")  # cancelled, so not a step of the case
    for username in ("robin.visitor", "sasha.visitor"):
        _portal_log_in(phone, base, username)
        expect(phone.get_by_role("region", name="Your next appointments")).to_contain_text(
            "No appointments are booked yet"
        )
        phone.get_by_role("button", name="Log out").click()
