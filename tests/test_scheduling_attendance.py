"""Recording whether a session took place: who may, when, corrections with history, and what it sets off."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.access.services import AccessDenied
from tandem.audit.models import AuditEvent
from tandem.cases.models import Case, Phase
from tandem.demo.grid import occupancies
from tandem.lib.time import practice_zone
from tandem.measures.loader import load_instruments
from tandem.measures.models import MeasureRequest
from tandem.pathway.models import TreatmentFormat, TreatmentPlan
from tandem.pathway.services import TransitionBlocked, case_transition
from tandem.scheduling.models import (
    Appointment,
    AppointmentChange,
    AppointmentKind,
    AppointmentStatus,
    ChangeKind,
    Occupancy,
)
from tandem.scheduling.services import (
    BookingInvalid,
    appointment_book,
    appointment_cancel,
    appointment_record_attendance,
)
from tests.cast import login
from tests.pathway_support import session

ATTENDED = AppointmentStatus.ATTENDED
NO_SHOW = AppointmentStatus.NO_SHOW


def past(case: Case, therapist, *, kind: str = AppointmentKind.JOINT_ASSESSMENT, days_ago: int = 2, **kw):
    return session(case, kind, status=AppointmentStatus.BOOKED, days_ago=days_ago, therapist=therapist, **kw)


def on_calendar(*appointments: Appointment) -> None:
    """The therapists' occupancy a booking writes, by which the practice calendar's pages of therapists
    find their sessions (these sessions are made straight in the tables)."""
    for a in appointments:
        Occupancy.objects.bulk_create(occupancies(a, [t.pk for t in a.therapists.all()], []))


def url(appointment: Appointment) -> str:
    return f"/scheduling/appointments/{appointment.pk}/attendance/"


# --- The service --------------------------------------------------------------------------------------
def test_assigned_therapist_records_attendance_with_history_and_audit(cast):
    appt = past(cast.couple_case, cast.therapist_a)
    result = appointment_record_attendance(
        actor=cast.therapist_a, appointment=appt, status=ATTENDED, note="On time."
    )
    assert result.status == ATTENDED
    assert Appointment.objects.get(pk=appt.pk).status == ATTENDED
    change = AppointmentChange.objects.get(appointment=appt)
    assert (change.kind, change.by, change.old_status, change.new_status, change.reason) == (
        ChangeKind.ATTENDANCE,
        cast.therapist_a,
        AppointmentStatus.BOOKED,
        ATTENDED,
        "On time.",
    )
    event = AuditEvent.objects.get(action="appointment.attendance")
    assert event.detail == {"from": "booked", "to": "attended", "correction": False}
    assert event.case_id == cast.couple_case.pk


def test_a_future_appointment_is_refused(cast):
    appt = past(cast.couple_case, cast.therapist_a, days_ago=-1)
    with pytest.raises(BookingInvalid, match="has not started yet"):
        appointment_record_attendance(actor=cast.therapist_a, appointment=appt, status=ATTENDED)
    assert Appointment.objects.get(pk=appt.pk).status == AppointmentStatus.BOOKED
    assert not AppointmentChange.objects.exists()


def test_the_start_itself_is_allowed_and_now_is_honoured(cast):
    appt = past(cast.couple_case, cast.therapist_a, days_ago=-1)
    appointment_record_attendance(
        actor=cast.therapist_a, appointment=appt, status=NO_SHOW, now=appt.starts_at
    )
    assert Appointment.objects.get(pk=appt.pk).status == NO_SHOW
    assert AppointmentChange.objects.get(appointment=appt).at == appt.starts_at


def test_a_cancelled_appointment_is_refused(cast):
    appt = past(cast.couple_case, cast.therapist_a)
    Appointment.objects.filter(pk=appt.pk).update(status=AppointmentStatus.CANCELLED)
    with pytest.raises(BookingInvalid, match="cancelled"):
        appointment_record_attendance(actor=cast.coordinator, appointment=appt, status=ATTENDED)
    assert Appointment.objects.get(pk=appt.pk).status == AppointmentStatus.CANCELLED


def test_only_attended_or_no_show_may_be_recorded(cast):
    appt = past(cast.couple_case, cast.therapist_a)
    for status in (AppointmentStatus.BOOKED, AppointmentStatus.CANCELLED, "came"):
        with pytest.raises(BookingInvalid):
            appointment_record_attendance(actor=cast.therapist_a, appointment=appt, status=status)
    assert Appointment.objects.get(pk=appt.pk).status == AppointmentStatus.BOOKED


@pytest.mark.parametrize("who", ["therapist_b", "partner_a"])
def test_outsider_therapist_and_client_are_denied(cast, who):
    appt = past(cast.couple_case, cast.therapist_a)
    with pytest.raises(AccessDenied):
        appointment_record_attendance(actor=getattr(cast, who), appointment=appt, status=ATTENDED)
    assert Appointment.objects.get(pk=appt.pk).status == AppointmentStatus.BOOKED
    assert not AuditEvent.objects.filter(action="appointment.attendance").exists()


@pytest.mark.parametrize("who", ["coordinator", "director", "cotherapist"])
def test_front_desk_director_and_the_team_may_record(cast, who):
    appt = past(cast.couple_case, cast.therapist_a)
    appointment_record_attendance(actor=getattr(cast, who), appointment=appt, status=NO_SHOW)
    assert Appointment.objects.get(pk=appt.pk).status == NO_SHOW


def test_the_therapist_who_held_a_session_may_record_it_without_the_case(cast):
    # A consultation held by someone who is not (or no longer) assigned to the case.
    appt = past(cast.couple_case, cast.therapist_b, kind=AppointmentKind.CONSULTATION)
    appointment_record_attendance(actor=cast.therapist_b, appointment=appt, status=ATTENDED)
    assert Appointment.objects.get(pk=appt.pk).status == ATTENDED


def test_a_correction_keeps_history_and_repeating_changes_nothing(cast):
    appt = past(cast.couple_case, cast.therapist_a)
    appointment_record_attendance(actor=cast.therapist_a, appointment=appt, status=ATTENDED)
    appointment_record_attendance(
        actor=cast.coordinator, appointment=appt, status=NO_SHOW, note="Wrong button: they rang to say."
    )
    appointment_record_attendance(actor=cast.coordinator, appointment=appt, status=NO_SHOW)
    assert Appointment.objects.get(pk=appt.pk).status == NO_SHOW
    history = list(
        AppointmentChange.objects.filter(appointment=appt).values_list("old_status", "new_status", "by")
    )
    assert history == [
        ("booked", "attended", cast.therapist_a.pk),
        ("attended", "no_show", cast.coordinator.pk),
    ]
    corrections = AuditEvent.objects.filter(action="appointment.attendance").order_by("pk")
    assert [e.detail["correction"] for e in corrections] == [False, True]


def test_a_no_show_keeps_its_time_held(cast):
    start = timezone.now().astimezone(practice_zone()).replace(second=0, microsecond=0) + dt.timedelta(days=1)
    start = start.replace(hour=10, minute=0)
    appt = appointment_book(
        actor=cast.coordinator,
        case=cast.couple_case,
        kind=AppointmentKind.JOINT_ASSESSMENT,
        starts_at=start,
        therapists=[cast.therapist_a],
        room=cast.room,
    )
    held = Occupancy.objects.filter(appointment=appt).count()
    assert held == 4  # therapist, room and both partners
    appointment_record_attendance(
        actor=cast.therapist_a, appointment=appt, status=NO_SHOW, now=start + dt.timedelta(minutes=15)
    )
    assert Occupancy.objects.filter(appointment=appt).count() == held
    # And a session that has been recorded cannot be cancelled afterwards.
    with pytest.raises(BookingInvalid):
        appointment_cancel(actor=cast.coordinator, appointment=appt, reason="Too late for that.")


# --- The view -----------------------------------------------------------------------------------------
def test_assigned_therapist_posts_and_is_sent_back(client, cast):
    appt = past(cast.couple_case, cast.therapist_a)
    login(client, cast.therapist_a)
    back = f"/cases/{cast.couple_case.pk}/"
    response = client.post(url(appt), {"status": "attended", "next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    assert Appointment.objects.get(pk=appt.pk).status == ATTENDED
    page = client.get(back).content.decode()
    assert "T-0001" in page and "attended." in page


def test_an_unsafe_next_falls_back_to_the_calendar_day(client, cast):
    appt = past(cast.couple_case, cast.therapist_a)
    login(client, cast.coordinator)
    response = client.post(url(appt), {"status": "no_show", "next": "https://evil.example/"})
    assert response.status_code == 302
    day = timezone.localdate(appt.starts_at, practice_zone())
    assert response["Location"] == f"/scheduling/calendar/?date={day.isoformat()}&span=day"
    assert Appointment.objects.get(pk=appt.pk).status == NO_SHOW


def test_outsider_gets_404_and_nothing_changes(client, cast):
    appt = past(cast.couple_case, cast.therapist_a)
    login(client, cast.therapist_b)
    assert client.post(url(appt), {"status": "attended"}).status_code == 404
    assert (
        client.post("/scheduling/appointments/999999/attendance/", {"status": "attended"}).status_code == 404
    )
    assert Appointment.objects.get(pk=appt.pk).status == AppointmentStatus.BOOKED
    assert AuditEvent.objects.filter(action="access.denied").count() == 2


def test_get_is_not_allowed(client, cast):
    appt = past(cast.couple_case, cast.therapist_a)
    login(client, cast.therapist_a)
    assert client.get(url(appt)).status_code == 405
    assert Appointment.objects.get(pk=appt.pk).status == AppointmentStatus.BOOKED


def test_a_refusal_is_a_message_not_an_error(client, cast):
    appt = past(cast.couple_case, cast.therapist_a, days_ago=-1)
    login(client, cast.therapist_a)
    response = client.post(url(appt), {"status": "attended"}, follow=True)
    assert response.status_code == 200
    assert "has not started yet" in response.content.decode()
    assert Appointment.objects.get(pk=appt.pk).status == AppointmentStatus.BOOKED


def test_csrf_is_required(cast):
    appt = past(cast.couple_case, cast.therapist_a)
    strict = Client(enforce_csrf_checks=True)
    login(strict, cast.therapist_a)
    assert strict.post(url(appt), {"status": "attended"}).status_code == 403
    assert Appointment.objects.get(pk=appt.pk).status == AppointmentStatus.BOOKED


# --- The pages ----------------------------------------------------------------------------------------
def test_calendar_day_offers_buttons_only_for_started_sessions_the_viewer_may_record(client, cast):
    done = past(cast.couple_case, cast.therapist_a, days_ago=0)
    Appointment.objects.filter(pk=done.pk).update(
        starts_at=timezone.now() - dt.timedelta(minutes=30), ends_at=timezone.now() + dt.timedelta(minutes=30)
    )
    done.refresh_from_db()
    later = past(cast.couple_case, cast.therapist_a, days_ago=-3)
    on_calendar(done, later)
    day = timezone.localdate(done.starts_at, practice_zone())
    page_url = f"/scheduling/calendar/?date={day.isoformat()}&span=day"
    login(client, cast.therapist_a)
    html = client.get(page_url).content.decode()
    assert url(done) in html and 'value="attended"' in html
    assert url(later) not in html
    # A therapist of another case sees it as busy, without buttons.
    login(client, cast.therapist_b)
    assert url(done) not in client.get(page_url).content.decode()
    # Recorded: the status shows, and only the other button is left (to correct a mistake).
    appointment_record_attendance(actor=cast.therapist_a, appointment=done, status=ATTENDED)
    login(client, cast.coordinator)
    html = client.get(page_url).content.decode()
    assert "status-attended" in html
    assert 'value="no_show"' in html and 'value="attended"' not in html


def test_case_page_offers_buttons_on_past_sessions_only(client, cast):
    done = past(cast.couple_case, cast.therapist_a)
    later = past(cast.couple_case, cast.therapist_a, days_ago=-3)
    login(client, cast.coordinator)
    html = client.get(f"/cases/{cast.couple_case.pk}/").content.decode()
    assert url(done) in html
    assert url(later) not in html


# --- What it sets off ---------------------------------------------------------------------------------
def test_attended_intensive_day_schedules_its_brief_check(cast, django_capture_on_commit_callbacks):
    load_instruments()
    case = cast.couple_case
    Case.objects.filter(pk=case.pk).update(phase=Phase.TREATMENT)
    TreatmentPlan.objects.create(
        case=case,
        version=1,
        format=TreatmentFormat.INTENSIVE,
        goals="Synthetic goals.",
        created_at=timezone.now(),
        created_by=cast.therapist_a,
    )
    first = past(case, cast.therapist_a, kind=AppointmentKind.INTENSIVE, days_ago=1)
    past(case, cast.therapist_a, kind=AppointmentKind.INTENSIVE, days_ago=-1)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_record_attendance(actor=cast.therapist_a, appointment=first, status=ATTENDED)
        assert not MeasureRequest.objects.filter(case=case, instrument__code="CSI4").exists()
    day = timezone.localdate(first.starts_at, practice_zone())
    brief = MeasureRequest.objects.filter(case=case, instrument__code="CSI4")
    assert {(r.client.first_name, r.occasion) for r in brief} == {
        ("Alex", f"intensive_day:{day.isoformat()}"),
        ("Blair", f"intensive_day:{day.isoformat()}"),
    }


def test_recorded_assessment_sessions_open_the_way_to_treatment(cast):
    case, therapist = cast.couple_case, cast.therapist_a
    joint = past(case, therapist, kind=AppointmentKind.JOINT_ASSESSMENT, days_ago=10)
    individual = [
        past(case, therapist, kind=AppointmentKind.INDIVIDUAL_ASSESSMENT, days_ago=5, for_client=client)
        for client in case.partners
    ]
    with pytest.raises(TransitionBlocked):
        case_transition(actor=therapist, case=case, to_phase=Phase.TREATMENT)
    appointment_record_attendance(actor=cast.coordinator, appointment=joint, status=ATTENDED)
    appointment_record_attendance(actor=therapist, appointment=individual[0], status=ATTENDED)
    # A missed session does not count.
    appointment_record_attendance(actor=therapist, appointment=individual[1], status=NO_SHOW)
    with pytest.raises(TransitionBlocked, match="the individual session for Blair Partner"):
        case_transition(actor=therapist, case=case, to_phase=Phase.TREATMENT)
    appointment_record_attendance(
        actor=therapist, appointment=individual[1], status=ATTENDED, note="Came late; recorded wrongly."
    )
    change = case_transition(actor=therapist, case=case, to_phase=Phase.TREATMENT)
    assert change.override_reason == ""
    assert Case.objects.get(pk=case.pk).phase == Phase.TREATMENT


def test_attendance_buttons_add_no_query_per_appointment(client, cast):
    anchor = timezone.now().astimezone(practice_zone()).replace(hour=8, minute=0, second=0, microsecond=0)
    anchor -= dt.timedelta(days=2)
    page_url = f"/scheduling/calendar/?date={anchor.date().isoformat()}&span=day"

    def grow(count: int) -> None:
        for n in range(count):
            start = anchor + dt.timedelta(minutes=30 * Appointment.objects.count())
            appt = Appointment.objects.create(
                case=cast.couple_case if n % 2 else cast.solo_case,
                kind=AppointmentKind.STANDARD,
                starts_at=start,
                ends_at=start + dt.timedelta(minutes=20),
            )
            appt.therapists.set([cast.therapist_a])
            on_calendar(appt)

    def queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(page_url)
        assert response.status_code == 200
        return len(captured.captured_queries), response.content.decode()

    login(client, cast.therapist_a)
    grow(2)
    small, _ = queries()
    grow(10)
    large, html = queries()
    assert large == small
    assert html.count('class="inline attendance-form"') == Appointment.objects.count() == 12


def test_the_practice_week_is_for_reading_and_its_days_record_attendance(client, cast):
    """A large practice's week holds over a thousand sessions: it prints no attendance forms, says where
    to record attendance, and links each day, whose page has the forms."""
    # Yesterday at noon in the practice: started, and within one day. Three hours before "now" crossed
    # midnight when the suite ran in the small hours, and a session on two days prints two forms.
    yesterday = timezone.localdate(timezone.now(), practice_zone()) - dt.timedelta(days=1)
    start = dt.datetime.combine(yesterday, dt.time(12, 0), tzinfo=practice_zone())
    appointment = Appointment.objects.create(
        case=cast.couple_case,
        kind=AppointmentKind.STANDARD,
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=50),
    )
    appointment.therapists.set([cast.therapist_a])
    # What a booking holds: a therapist's calendar finds its sessions by their occupancy.
    appointment.occupancies.create(
        resource_kind="therapist",
        resource_id=cast.therapist_a.pk,
        starts_at=start,
        ends_at=appointment.ends_at,
    )
    day = start.astimezone(practice_zone()).date().isoformat()
    login(client, cast.coordinator)
    week = client.get(f"/scheduling/calendar/?date={day}&span=week").content.decode()
    assert 'class="inline attendance-form"' not in week
    assert "To record attendance, open a day" in week
    assert f'href="/scheduling/calendar/?date={day}&amp;span=day"' in week
    one_day = client.get(f"/scheduling/calendar/?date={day}&span=day").content.decode()
    assert one_day.count('class="inline attendance-form"') == 1
    own = reverse("scheduling:calendar_therapist", args=[cast.therapist_a.pk])
    own_week = client.get(f"{own}?date={day}&span=week").content.decode()
    assert own_week.count('class="inline attendance-form"') == 1
