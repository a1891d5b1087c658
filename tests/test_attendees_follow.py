"""Reminders, portals and notes follow who attends; ending care cancels the case's bookings in the same
action, tells each partner once and withdraws their reminders."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client as HttpClient
from django.urls import reverse

from tandem.access.services import AccessDenied
from tandem.audit.models import AuditEvent
from tandem.cases.models import Case, Phase
from tandem.lib.errors import Refusal
from tandem.notify.models import Job, JobKind, JobState
from tandem.notify.services import process, schedule_due
from tandem.pathway.services import case_transition
from tandem.records.models import SecretsPolicy
from tandem.records.services import (
    confidentiality_record_agreement,
    confidentiality_set,
    default_individual_with,
    note_create,
)
from tandem.scheduling import services
from tandem.scheduling.models import (
    Appointment,
    AppointmentChange,
    AppointmentKind,
    AppointmentStatus,
    Mode,
    Occupancy,
)
from tandem.scheduling.services import BookingsToCancel
from tests.cast import login

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Europe/Amsterdam")
NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
CONJ = AppointmentKind.CONJUNCTIVE


@pytest.fixture(autouse=True)
def _clock(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def emails(cast):
    for user, address in (
        (cast.partner_a, "alex@example.invalid"),
        (cast.partner_b, "blair@example.invalid"),
    ):
        user.email = address
        user.save()


def book(cast, when: dt.datetime, kind=AppointmentKind.STANDARD, clients=None, therapist=None):
    return services.appointment_book(
        actor=cast.coordinator,
        case=cast.couple_case,
        kind=kind,
        starts_at=when,
        ends_at=when + dt.timedelta(minutes=50),
        therapists=[therapist or cast.therapist_a],
        mode=Mode.VIDEO,
        clients=clients,
    )


def soon(hours: int) -> dt.datetime:
    return NOW + dt.timedelta(hours=hours)


def later(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date(2027, 3, day), dt.time(hour), tzinfo=ZONE)


def reminded(appointment: Appointment) -> set[int]:
    jobs = Job.objects.filter(kind=JobKind.APPOINTMENT_REMINDER, object_id=appointment.pk)
    return set(jobs.values_list("user_id", flat=True))


# --- Reminders -----------------------------------------------------------------------------------------
def test_only_the_attendees_are_reminded(cast, emails):
    joint = book(cast, soon(10))
    alone = book(cast, soon(5), kind=CONJ, clients=[cast.couple_case.partner_b])
    schedule_due(now=NOW)
    assert reminded(joint) == {cast.partner_a.pk, cast.partner_b.pk}
    assert reminded(alone) == {cast.partner_b.pk}


def test_a_reminder_for_someone_who_no_longer_attends_is_not_sent(cast, emails):
    appointment = book(cast, soon(10), kind=CONJ, clients=[cast.couple_case.partner_a])
    schedule_due(now=NOW)
    job = Job.objects.get(kind=JobKind.APPOINTMENT_REMINDER, object_id=appointment.pk)
    services.appointment_set_attendee(
        actor=cast.coordinator, appointment=appointment, client=cast.couple_case.partner_b
    )
    Job.objects.filter(pk=job.pk).update(claimed_by="w", claimed_at=NOW)
    job.refresh_from_db()
    assert not process(job, now=NOW, worker="w").sent
    job.refresh_from_db()
    assert job.skipped == "no longer attending"
    schedule_due(now=NOW)
    assert reminded(appointment) == {cast.partner_a.pk, cast.partner_b.pk}  # Blair's own, Alex's skipped


# --- Portals: the other partner's view follows the confidentiality policy ----------------------------------
def _policy(cast, kind, agreed=("a", "b")):
    case = cast.couple_case
    confidentiality_set(actor=cast.therapist_a, case=case, kind=kind)
    for side in agreed:
        client = case.partner_a if side == "a" else case.partner_b
        confidentiality_record_agreement(actor=cast.therapist_a, case=case, client=client)


def _portal(user) -> tuple[list, str]:
    http = login(HttpClient(), user)
    response = http.get(reverse("portal:home"))
    return response.context["appointments"], response.content.decode()


@pytest.mark.parametrize(
    ("policy", "agreed", "alex_sees"),
    [
        (None, (), False),
        (SecretsPolicy.LIMITED_SECRETS, ("a", "b"), False),
        (SecretsPolicy.NO_SECRETS, ("a",), False),
        (SecretsPolicy.NO_SECRETS, ("a", "b"), True),
    ],
)
def test_the_other_partner_sees_an_individual_session_only_under_an_agreed_no_secrets_policy(
    cast, policy, agreed, alex_sees
):
    if policy is not None:
        _policy(cast, policy, agreed)
    joint = book(cast, later(2))
    blairs = book(cast, later(3), kind=CONJ, clients=[cast.couple_case.partner_b])
    listed, page = _portal(cast.partner_a)
    assert [a.pk for a in listed] == ([joint.pk, blairs.pk] if alex_sees else [joint.pk])
    assert [a.mine for a in listed] == ([True, False] if alex_sees else [True])
    assert ("Blair's conjunctive individual session" in page) is alex_sees
    assert page.count("Add to my calendar") == 1
    # Blair always sees their own session as theirs.
    listed, _ = _portal(cast.partner_b)
    assert [(a.pk, a.mine) for a in listed] == [(joint.pk, True), (blairs.pk, True)]
    # The calendar file is for whoever attends only.
    http = login(HttpClient(), cast.partner_a)
    assert http.get(reverse("portal:calendar", kwargs={"appointment_id": blairs.pk})).status_code == 404
    http = login(HttpClient(), cast.partner_b)
    assert http.get(reverse("portal:calendar", kwargs={"appointment_id": blairs.pk})).status_code == 200


def test_an_outsider_sees_nothing_of_the_couples_sessions(cast):
    from tandem.accounts.models import Role
    from tandem.cases.models import Client
    from tandem.portal.selectors import client_appointment, upcoming_appointments
    from tests.cast import make_user

    _policy(cast, SecretsPolicy.NO_SECRETS)
    blairs = book(cast, later(3), kind=CONJ, clients=[cast.couple_case.partner_b])
    stranger = make_user("sam.solo", Role.CLIENT, first="Sam", last="Solo")
    Client.objects.filter(pk=cast.solo_case.partner_a_id).update(user=stranger)
    assert upcoming_appointments(user=stranger, now=NOW) == []
    assert client_appointment(user=stranger, appointment_id=blairs.pk) is None
    listed, _ = _portal(stranger)
    assert listed == []


def test_the_portal_reads_in_a_fixed_number_of_queries(cast, django_assert_max_num_queries):
    from tandem.portal.selectors import upcoming_appointments

    _policy(cast, SecretsPolicy.NO_SECRETS)
    for day in range(2, 8):
        book(cast, later(day), kind=CONJ, clients=[cast.couple_case.partners[day % 2]])
    with django_assert_max_num_queries(4):
        rows = upcoming_appointments(user=cast.partner_a, now=NOW)
        names = [a.attending_names for a in rows]
    assert len(names) == 6


# --- Notes follow the attendee --------------------------------------------------------------------------
def test_a_note_of_an_individual_session_is_with_its_attendee(cast):
    from tests.records_support import template

    blair = cast.couple_case.partner_b
    with time_machine.travel(NOW - dt.timedelta(days=3), tick=False):
        session = book(cast, NOW - dt.timedelta(days=1), kind=CONJ, clients=[blair])
    assert default_individual_with(session) == blair
    with pytest.raises(Refusal, match="booked for Blair Partner alone"):
        note_create(
            actor=cast.therapist_a,
            appointment=session,
            template=template("dap"),
            sections={},
            individual_with=cast.couple_case.partner_a,
        )
    note = note_create(actor=cast.therapist_a, appointment=session, template=template("dap"), sections={})
    assert note.individual_with == blair


# --- Ending care ends its bookings ----------------------------------------------------------------------
def _standing(cast) -> list[Appointment]:
    return [
        book(cast, later(2)),
        book(cast, later(3), kind=CONJ, clients=[cast.couple_case.partner_a]),
        book(cast, later(4), kind=CONJ, clients=[cast.couple_case.partner_b]),
    ]


def _close(cast, confirmed=(), actor=None):
    return case_transition(
        actor=actor or cast.coordinator,
        case=Case.objects.get(pk=cast.couple_case.pk),
        to_phase=Phase.CLOSED,
        reason="The couple chose another practice.",
        cancel_bookings=confirmed,
    )


def test_closing_without_confirming_is_refused_with_the_list_and_changes_nothing(cast):
    standing = _standing(cast)
    with pytest.raises(BookingsToCancel) as refused:
        _close(cast)
    assert [a.pk for a in refused.value.appointments] == [a.pk for a in standing]
    assert str(refused.value).startswith(
        "3 future appointments are still booked (Standard session Tue 2 March"
    )
    assert Case.objects.get(pk=cast.couple_case.pk).phase == Phase.ASSESSMENT
    assert Appointment.objects.filter(status=AppointmentStatus.BOOKED).count() == 3
    # A list confirmed before another booking was made is not enough either.
    newer = book(cast, later(5))
    with pytest.raises(BookingsToCancel):
        _close(cast, confirmed=[a.pk for a in standing])
    assert newer.occupancies.exists()


def test_closing_with_confirmation_cancels_every_booking_and_frees_everything(cast, emails):
    standing = _standing(cast)
    ids = [a.pk for a in standing]
    reminder_soon = book(cast, soon(10), therapist=cast.cotherapist)
    schedule_due(now=NOW)
    assert Job.objects.filter(kind=JobKind.APPOINTMENT_REMINDER, state=JobState.PENDING).count() == 2
    _close(cast, confirmed=[*ids, reminder_soon.pk])
    assert Case.objects.get(pk=cast.couple_case.pk).phase == Phase.CLOSED
    assert not Appointment.objects.filter(status=AppointmentStatus.BOOKED).exists()
    assert not Occupancy.objects.exists()
    changes = AppointmentChange.objects.filter(appointment_id__in=[*ids, reminder_soon.pk])
    assert changes.count() == 4
    assert {c.reason for c in changes} == {"Close without treatment: The couple chose another practice."}
    assert len({c.batch_id for c in changes}) == 1
    assert AuditEvent.objects.filter(action="appointment.cancel").count() == 4
    # The therapist and the room are free again at once.
    book(cast, later(2))
    # The worker's next pass tells each partner once and withdraws the pending reminders.
    schedule_due(now=NOW)
    notices = Job.objects.filter(kind=JobKind.BOOKINGS_CANCELLED)
    assert sorted(notices.values_list("user_id", flat=True)) == sorted([cast.partner_a.pk, cast.partner_b.pk])
    assert not Job.objects.filter(kind=JobKind.APPOINTMENT_REMINDER, state=JobState.PENDING).exists()
    schedule_due(now=NOW)
    assert notices.count() == 2


def test_the_notice_names_nothing_clinical(cast, emails, mailoutbox):
    from tandem.notify.services import run_once

    _close(cast, confirmed=[a.pk for a in _standing(cast)])
    run_once(worker="w", now=NOW)
    assert sorted(m.to[0] for m in mailoutbox) == ["alex@example.invalid", "blair@example.invalid"]
    for message in mailoutbox:
        text = message.subject + message.body
        assert "cancelled" in text
        for sensitive in ("Alex", "Blair", "T-0001", "Conjunctive", "Tess", "another practice"):
            assert sensitive not in text


def test_discharge_cancels_the_bookings_too(cast):
    Case.objects.filter(pk=cast.couple_case.pk).update(phase=Phase.FOLLOW_UP)
    standing = _standing(cast)
    case = Case.objects.get(pk=cast.couple_case.pk)
    with pytest.raises(BookingsToCancel):
        case_transition(actor=cast.therapist_a, case=case, to_phase=Phase.DISCHARGED)
    case_transition(
        actor=cast.therapist_a, case=case, to_phase=Phase.DISCHARGED, cancel_bookings=[a.pk for a in standing]
    )
    assert not Appointment.objects.filter(status=AppointmentStatus.BOOKED).exists()
    assert {c.reason for c in AppointmentChange.objects.all()} == {"Discharge"}


@pytest.mark.parametrize("who", ["therapist_b", "partner_a", "partner_b"])
def test_an_outsider_or_a_partner_cannot_end_care_and_its_bookings(cast, who):
    standing = _standing(cast)
    with pytest.raises(AccessDenied):
        _close(cast, confirmed=[a.pk for a in standing], actor=getattr(cast, who))
    assert Appointment.objects.filter(status=AppointmentStatus.BOOKED).count() == 3


def test_the_close_page_lists_the_bookings_and_needs_the_tick(cast):
    standing = _standing(cast)
    http = login(HttpClient(), cast.coordinator)
    url = reverse("pathway:transition", kwargs={"case_id": cast.couple_case.pk, "to_phase": Phase.CLOSED})
    page = http.get(url).content.decode()
    assert "Future appointments cancelled with the case" in page
    assert len(re.findall(r'name="booking" value="\d+"', page)) == 3
    form = {"reason": "Moved abroad.", "booking": [str(a.pk) for a in standing]}
    refused = http.post(url, form)
    assert refused.status_code == 400
    assert "3 future appointments are still booked" in refused.content.decode()
    assert Case.objects.get(pk=cast.couple_case.pk).phase == Phase.ASSESSMENT
    assert http.post(url, {**form, "confirm_cancel": "on"}).status_code == 302
    assert Case.objects.get(pk=cast.couple_case.pk).phase == Phase.CLOSED
    assert not Appointment.objects.filter(status=AppointmentStatus.BOOKED).exists()
