"""A partner leaves a couple case (issue 14, item 1): the case goes on as the other partner's individual
case, the leaver's future bookings (their own and the joint ones) are cancelled in the same action once
confirmed, each partner is told once, reminders are withdrawn, and the leaver's portal no longer reaches
the case."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client as HttpClient
from django.urls import reverse

from tandem.access.services import AccessDenied, cases_visible_to
from tandem.audit.models import AuditEvent
from tandem.cases.models import AbsentPartner, Case, Client, PartnerLeave, Phase
from tandem.lib.errors import Refusal
from tandem.notify.models import Job, JobKind, JobState
from tandem.notify.services import schedule_due
from tandem.pathway.selectors import case_timeline
from tandem.pathway.services import case_partner_leave
from tandem.scheduling import services
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus, Mode, Occupancy
from tandem.scheduling.services import BookingsToCancel
from tests.cast import login

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Europe/Amsterdam")
NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
CONJ = AppointmentKind.CONJUNCTIVE
REASON = "Alex has decided to end the relationship work."


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


def book(cast, when: dt.datetime, kind=AppointmentKind.STANDARD, clients=None, case=None):
    return services.appointment_book(
        actor=cast.coordinator,
        case=case or cast.couple_case,
        kind=kind,
        starts_at=when,
        ends_at=when + dt.timedelta(minutes=50),
        therapists=[cast.therapist_a],
        mode=Mode.VIDEO,
        clients=clients,
    )


def later(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date(2027, 3, day), dt.time(hour), tzinfo=ZONE)


def _bookings(cast) -> dict[str, Appointment]:
    alex, blair = cast.couple_case.partner_a, cast.couple_case.partner_b
    return {
        "alex_soon": book(cast, NOW + dt.timedelta(hours=6), kind=CONJ, clients=[alex]),
        "blair_soon": book(cast, NOW + dt.timedelta(hours=8), kind=CONJ, clients=[blair]),
        "joint": book(cast, later(2)),
        "alex": book(cast, later(3), kind=CONJ, clients=[alex]),
        "blair": book(cast, later(4), kind=CONJ, clients=[blair]),
    }


def _leave(cast, confirmed=(), actor=None, reason=REASON, absent=AbsentPartner.UNWILLING):
    case = Case.objects.with_people().get(pk=cast.couple_case.pk)
    return case_partner_leave(
        actor=actor or cast.therapist_a,
        case=case,
        client=case.partner_a,
        absent_partner=absent,
        reason=reason,
        cancel_bookings=confirmed,
    )


def _leavers(b: dict[str, Appointment]) -> list[int]:
    return [b["alex_soon"].pk, b["joint"].pk, b["alex"].pk]


def _booked() -> set[int]:
    return set(Appointment.objects.filter(status=AppointmentStatus.BOOKED).values_list("pk", flat=True))


def test_without_confirming_it_is_refused_with_the_leavers_bookings_and_nothing_changes(cast):
    b = _bookings(cast)
    with pytest.raises(BookingsToCancel) as refused:
        _leave(cast)
    # The leaver's own sessions and the joint one; never the other partner's individual sessions.
    assert [a.pk for a in refused.value.appointments] == _leavers(b)
    assert str(refused.value).startswith("3 future appointments are still booked (Conjunctive")
    case = Case.objects.get(pk=cast.couple_case.pk)
    assert case.is_couple and case.partner_a.first_name == "Alex"
    assert _booked() == {a.pk for a in b.values()}
    assert not PartnerLeave.objects.exists()
    # A list confirmed before another booking was made is not enough either.
    newer = book(cast, later(5))
    with pytest.raises(BookingsToCancel):
        _leave(cast, confirmed=_leavers(b))
    assert newer.pk in _booked()


def test_confirmed_the_case_goes_on_as_the_other_partners_and_the_leavers_bookings_are_cancelled(cast):
    b = _bookings(cast)
    leave = _leave(cast, confirmed=_leavers(b))
    case = Case.objects.get(pk=cast.couple_case.pk)
    assert not case.is_couple
    assert case.partner_a.first_name == "Blair"
    assert (case.absent_partner, case.absent_partner_note) == (AbsentPartner.UNWILLING, REASON)
    assert case.phase == Phase.ASSESSMENT
    assert (leave.client.first_name, leave.by, leave.reason) == ("Alex", cast.therapist_a, REASON)
    assert _booked() == {b["blair_soon"].pk, b["blair"].pk}
    assert not Occupancy.objects.filter(appointment_id__in=_leavers(b)).exists()
    # One audit row for the leaving, one per cancelled booking; the reason is not copied into the audit.
    left = AuditEvent.objects.filter(action="case.partner_left")
    assert left.count() == 1
    assert left.get().detail == {"client": leave.client.pk, "absent_partner": "unwilling", "cancelled": 3}
    assert AuditEvent.objects.filter(action="appointment.cancel").count() == 3
    # The therapist's time is free again at once.
    book(cast, later(2))
    # The leaver stays a client on file: nothing of theirs is deleted.
    assert Client.objects.filter(pk=leave.client.pk).exists()


def test_each_partner_is_told_once_and_the_cancelled_reminders_are_withdrawn(cast, emails):
    b = _bookings(cast)
    schedule_due(now=NOW)
    pending = Job.objects.filter(kind=JobKind.APPOINTMENT_REMINDER, state=JobState.PENDING)
    assert set(pending.values_list("object_id", flat=True)) == {b["alex_soon"].pk, b["blair_soon"].pk}
    _leave(cast, confirmed=_leavers(b))
    schedule_due(now=NOW)
    notices = Job.objects.filter(kind=JobKind.BOOKINGS_CANCELLED)
    # Alex for their sessions, Blair for the joint one: once each, however many bookings.
    assert sorted(notices.values_list("user_id", flat=True)) == sorted([cast.partner_a.pk, cast.partner_b.pk])
    assert list(pending.values_list("object_id", flat=True)) == [b["blair_soon"].pk]
    schedule_due(now=NOW)
    assert notices.count() == 2


def test_the_timeline_shows_the_partner_leaving(cast):
    _leave(cast)
    case = Case.objects.get(pk=cast.couple_case.pk)
    for clinical in (True, False):
        entries = [e for e in case_timeline(case=case, clinical=clinical) if e.kind == "partner"]
        assert [(e.title, e.by) for e in entries] == [("Alex Partner left", cast.therapist_a)]
        assert entries[0].detail == f"From then: Partner unwilling to attend. {REASON}"


@pytest.mark.parametrize("who", ["therapist_b", "coordinator", "partner_a", "partner_b"])
def test_only_the_cases_clinicians_record_a_partner_leaving(cast, who):
    b = _bookings(cast)
    with pytest.raises(AccessDenied, match="Only the case's therapists or the clinical director"):
        _leave(cast, confirmed=_leavers(b), actor=getattr(cast, who))
    assert Case.objects.get(pk=cast.couple_case.pk).is_couple
    assert _booked() == {a.pk for a in b.values()}


def test_the_director_may_record_it(cast):
    _leave(cast, actor=cast.director)
    assert not Case.objects.get(pk=cast.couple_case.pk).is_couple


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reason": "  "}, "Write why the partner leaves the case."),
        ({"reason": "x" * 301}, "within 300 characters"),
        ({"absent": "gone"}, "Choose why the partner no longer attends."),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(cast, change, message):
    with pytest.raises(Refusal, match=message):
        _leave(cast, **change)
    assert Case.objects.get(pk=cast.couple_case.pk).is_couple


def test_an_individual_or_a_closed_case_has_nobody_to_leave(cast):
    solo = Case.objects.with_people().get(pk=cast.solo_case.pk)
    with pytest.raises(Refusal, match="Only a couple case"):
        case_partner_leave(
            actor=cast.therapist_a, case=solo, client=solo.partner_a, absent_partner="unwilling", reason="r"
        )
    Case.objects.filter(pk=cast.couple_case.pk).update(phase=Phase.DISCHARGED)
    with pytest.raises(Refusal, match="This case is closed"):
        _leave(cast)


def test_the_leaver_no_longer_reaches_the_case_and_the_other_partner_still_does(cast):
    b = _bookings(cast)
    _leave(cast, confirmed=_leavers(b))
    assert not cases_visible_to(cast.partner_a).exists()
    assert list(cases_visible_to(cast.partner_b).values_list("pk", flat=True)) == [cast.couple_case.pk]
    alex = login(HttpClient(), cast.partner_a)
    assert alex.get(reverse("portal:home")).context["appointments"] == []
    calendar = reverse("portal:calendar", kwargs={"appointment_id": b["joint"].pk})
    assert alex.get(calendar).status_code == 404
    blair = login(HttpClient(), cast.partner_b)
    listed = blair.get(reverse("portal:home")).context["appointments"]
    assert [a.pk for a in listed] == [b["blair_soon"].pk, b["blair"].pk]


# --- the page ---------------------------------------------------------------------------------------------
def _url(cast) -> str:
    kwargs = {"case_id": cast.couple_case.pk, "client_id": cast.couple_case.partner_a_id}
    return reverse("pathway:partner_leave", kwargs=kwargs)


def test_the_page_lists_the_bookings_and_needs_the_tick(cast):
    b = _bookings(cast)
    http = login(HttpClient(), cast.therapist_a)
    case_page = http.get(reverse("cases:detail", kwargs={"case_id": cast.couple_case.pk})).content.decode()
    assert case_page.count("Leaves the case") == 2
    page = http.get(_url(cast)).content.decode()
    assert "Future appointments cancelled as Alex leaves" in page
    assert sorted(int(v) for v in re.findall(r'name="booking" value="(\d+)"', page)) == _leavers(b)
    form = {"absent_partner": "unwilling", "reason": REASON, "booking": [str(pk) for pk in _leavers(b)]}
    refused = http.post(_url(cast), form)
    assert refused.status_code == 400
    assert "3 future appointments are still booked" in refused.content.decode()
    assert Case.objects.get(pk=cast.couple_case.pk).is_couple
    missing = http.post(_url(cast), {**form, "reason": "", "confirm_cancel": "on"})
    assert missing.status_code == 400
    assert "Write why the partner leaves the case." in missing.content.decode()
    assert http.post(_url(cast), {**form, "confirm_cancel": "on"}).status_code == 302
    assert not Case.objects.get(pk=cast.couple_case.pk).is_couple
    after = http.get(reverse("cases:detail", kwargs={"case_id": cast.couple_case.pk})).content.decode()
    assert "Alex Partner left" in after
    assert "Leaves the case" not in after


@pytest.mark.parametrize("who", ["therapist_b", "coordinator", "partner_b"])
def test_the_page_is_not_found_for_anyone_else(cast, who):
    http = login(HttpClient(), getattr(cast, who))
    assert http.get(_url(cast)).status_code == 404
    post = {"absent_partner": "unwilling", "reason": REASON, "confirm_cancel": "on"}
    assert http.post(_url(cast), post).status_code == 404
    assert Case.objects.get(pk=cast.couple_case.pk).is_couple
    if who == "coordinator":
        page = http.get(reverse("cases:detail", kwargs={"case_id": cast.couple_case.pk})).content.decode()
        assert "Leaves the case" not in page


def test_the_page_reads_in_a_fixed_number_of_queries(cast, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    http = login(HttpClient(), cast.therapist_a)
    book(cast, later(2))
    with CaptureQueriesContext(connection) as few:
        http.get(_url(cast))
    for day in range(3, 9):
        book(cast, later(day), kind=CONJ, clients=[cast.couple_case.partner_a])
    with django_assert_num_queries(len(few)):
        page = http.get(_url(cast)).content.decode()
    assert len(re.findall(r'name="booking"', page)) == 7


def test_the_leaver_keeps_their_data_of_the_case_and_not_what_came_after(cast):
    from tandem.consents.client_export import client_data
    from tests.pathway_support import session

    case = cast.couple_case
    alex = case.partner_a
    with time_machine.travel(NOW - dt.timedelta(days=7), tick=False):
        before = session(case, AppointmentKind.STANDARD, therapist=cast.therapist_a, days_ago=0)
    b = _bookings(cast)
    _leave(cast, confirmed=_leavers(b))
    case = Case.objects.with_people().get(pk=case.pk)
    after = book(cast, later(6), case=case)  # the individual case goes on: Blair's session, not Alex's
    data = client_data(client=alex)
    assert [(c["reference"], c["kind"]) for c in data["cases"]] == [("T-0001", "individual")]
    assert data["cases"][0]["left_at"] is not None
    exported = {row["id"] for row in data["appointments"]}
    assert before.pk in exported and b["joint"].pk in exported and b["alex"].pk in exported
    assert after.pk not in exported and b["blair"].pk not in exported
    # Blair's own export is unchanged by Alex leaving: the case is theirs, with what came after.
    assert after.pk in {row["id"] for row in client_data(client=case.partner_a)["appointments"]}


def test_the_leaver_is_asked_no_more_questionnaires_in_the_case(cast, django_capture_on_commit_callbacks):
    from tandem.measures.loader import load_instruments
    from tandem.measures.models import MeasureRequest
    from tandem.measures.schedule import measures_schedule_for_case
    from tandem.measures.selectors import client_due

    load_instruments()
    measures_schedule_for_case(cast.couple_case.pk)
    alex, blair = cast.couple_case.partner_a, cast.couple_case.partner_b
    alexs = MeasureRequest.objects.filter(case=cast.couple_case, client=alex)
    assert client_due(user=cast.partner_a) and alexs.filter(cancelled_at__isnull=True).exists()
    with django_capture_on_commit_callbacks(execute=True):
        _leave(cast)
    assert not alexs.filter(cancelled_at__isnull=True).exists()
    assert {r.cancelled_reason for r in alexs} >= {"They no longer take part in the case."}
    assert MeasureRequest.objects.filter(client=blair, cancelled_at__isnull=True).exists()
    # Even a request left open would not reach them: the portal asks the permission layer.
    request = alexs.order_by("due_on").first()
    assert request is not None
    MeasureRequest.objects.filter(pk=request.pk).update(cancelled_at=None, cancelled_reason="")
    assert client_due(user=cast.partner_a) == []
    http = login(HttpClient(), cast.partner_a)
    assert http.get(reverse("measures:my_fill", kwargs={"request_id": request.pk})).status_code == 404
