"""The therapist's private iCalendar feed: token handling, what it tells, and daylight saving."""

import datetime as dt
import logging
import re
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from tandem.audit.models import AuditEvent
from tandem.scheduling import feeds
from tandem.scheduling.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    CalendarFeed,
    Mode,
)
from tests.cast import login

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Europe/Amsterdam")
NOW = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)
MANAGE = "/scheduling/feed/"
CLIENT_NAMES = ("Alex", "Blair", "Partner", "Sam", "Solo")


@pytest.fixture(autouse=True)
def _clock(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel(NOW, tick=False):
        yield


def at(day: str, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(hhmm), tzinfo=ZONE)


def appointment(case, day, start="10:00", end="11:00", *, room=None, kind=AppointmentKind.INTENSIVE, **extra):
    row = Appointment.objects.create(
        case=case,
        kind=kind,
        mode=Mode.IN_PERSON if room is not None else Mode.VIDEO,
        starts_at=at(day, start),
        ends_at=at(day, end),
        room=room,
        **extra,
    )
    row.therapists.set(case.clinicians)
    return row


def create_feed(client, user) -> str:
    """Create the user's feed through the page and return the path of the feed address shown once."""
    login(client, user)
    response = client.post(MANAGE, {"action": "create"})
    assert response.status_code == 200
    match = re.search(
        r'value="http://testserver(/scheduling/feed/[A-Za-z0-9_-]+\.ics)"', response.content.decode()
    )
    assert match, "the new feed address is shown"
    return match.group(1)


def fetch(path: str):
    return HttpClient().get(path)


def events(body: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_feed_is_made_on_the_therapists_page_and_only_a_keyed_hash_is_kept(client, cast):
    path = create_feed(client, cast.therapist_a)
    token = path.removeprefix("/scheduling/feed/").removesuffix(".ics")
    assert len(token) >= 43  # 32 random bytes
    feed = CalendarFeed.objects.get(therapist=cast.therapist_a)
    assert feed.token_hash == feeds.token_hash(token) != token
    assert token not in feed.token_hash
    # The page does not show the address again.
    again = client.get(MANAGE).content.decode()
    assert token not in again and "Switch the feed off" in again
    assert AuditEvent.objects.filter(action="calendar_feed.create", actor=cast.therapist_a).count() == 1


def test_anyone_with_the_address_gets_the_calendar_without_logging_in(client, cast):
    appointment(cast.couple_case, "2027-03-10", room=cast.room)
    path = create_feed(client, cast.therapist_a)
    response = fetch(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    (event,) = events(response.content)
    assert str(event["SUMMARY"]) == "Intensive session"
    assert str(event["LOCATION"]) == "Room 1, Canal Street"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == at("2027-03-10", "10:00")


def test_no_client_names_or_references_by_default(client, cast):
    appointment(cast.couple_case, "2027-03-10", room=cast.room)
    appointment(cast.solo_case, "2027-03-11", kind=AppointmentKind.STANDARD)
    cast.couple_case.presenting_notes = "Synthetic presenting notes for the couple."
    cast.couple_case.save()
    body = fetch(create_feed(client, cast.therapist_a)).content
    assert len(events(body)) == 2
    for secret in (*CLIENT_NAMES, "T-0001", "T-0002", "presenting"):
        assert secret.encode() not in body
    assert b"Standard session" in body and b"Video" in body


def test_no_way_to_put_names_or_references_in_a_feed(client, cast):
    # The opt-in is gone: a request for it changes nothing and the feed still names no one.
    appointment(cast.couple_case, "2027-03-10", room=cast.room)
    path = create_feed(client, cast.therapist_a)
    for detail in ("reference", "names"):
        client.post(MANAGE, {"action": "detail", "detail": detail})
    body = fetch(path).content
    assert str(events(body)[0]["SUMMARY"]) == "Intensive session"
    for secret in (*CLIENT_NAMES, "T-0001"):
        assert secret.encode() not in body
    page = client.get(MANAGE).content.decode()
    assert 'name="detail"' not in page and "never shows clients" in page


def test_revoked_rotated_and_made_up_tokens_answer_404(client, cast):
    first = create_feed(client, cast.therapist_a)
    second_page = client.post(MANAGE, {"action": "rotate"}).content.decode()
    second = re.search(r"(/scheduling/feed/[A-Za-z0-9_-]+\.ics)", second_page).group(1)
    assert second != first
    assert fetch(first).status_code == 404
    assert fetch(second).status_code == 200
    client.post(MANAGE, {"action": "revoke"})
    assert fetch(second).status_code == 404
    assert fetch("/scheduling/feed/not-a-real-token.ics").status_code == 404
    assert fetch(f"/scheduling/feed/{'a' * 500}.ics").status_code == 404
    actions = list(
        AuditEvent.objects.filter(action__startswith="calendar_feed.")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["calendar_feed.create", "calendar_feed.rotate", "calendar_feed.revoke"]
    # Switched on again: a new address, and the old ones stay dead.
    third = create_feed(client, cast.therapist_a)
    assert fetch(third).status_code == 200
    assert fetch(first).status_code == 404 and fetch(second).status_code == 404


def test_feed_of_a_deactivated_therapist_stops(client, cast):
    path = create_feed(client, cast.therapist_a)
    cast.therapist_a.is_active = False
    cast.therapist_a.save()
    assert fetch(path).status_code == 404


def test_another_therapist_cannot_manage_someone_elses_feed(client, cast):
    path = create_feed(client, cast.therapist_a)
    other = HttpClient()
    login(other, cast.therapist_b)
    page = other.get(MANAGE).content.decode()
    assert "You have no calendar feed yet." in page
    other.post(MANAGE, {"action": "revoke"})
    assert fetch(path).status_code == 200
    assert CalendarFeed.objects.get(therapist=cast.therapist_a).active
    assert not CalendarFeed.objects.filter(therapist=cast.therapist_b).exists()


@pytest.mark.parametrize("who", ["coordinator", "partner_a"])
def test_staff_without_sessions_and_clients_have_no_feed_page(client, cast, who):
    login(client, getattr(cast, who))
    assert client.get(MANAGE).status_code == 404
    assert client.post(MANAGE, {"action": "create"}).status_code == 404
    assert not CalendarFeed.objects.exists()


def test_token_never_reaches_logs_or_audit(client, cast, caplog):
    caplog.set_level(logging.DEBUG)
    path = create_feed(client, cast.therapist_a)
    token = path.removeprefix("/scheduling/feed/").removesuffix(".ics")
    fetch(path)
    client.post(MANAGE, {"action": "revoke"})
    assert fetch(path).status_code == 404
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert token not in logged and token[:12] not in logged
    hashed = feeds.token_hash(token)
    for event in AuditEvent.objects.all():
        assert token not in str(event.detail) and hashed not in str(event.detail)


def test_cancelled_appointments_are_marked_cancelled_and_uids_are_stable(client, cast):
    kept = appointment(cast.couple_case, "2027-03-10", room=cast.room)
    gone = appointment(cast.couple_case, "2027-03-11", room=cast.room, status=AppointmentStatus.CANCELLED)
    path = create_feed(client, cast.therapist_a)
    first = {str(e["UID"]): e for e in events(fetch(path).content)}
    assert str(first[feeds._uid(gone.pk)]["STATUS"]) == "CANCELLED"
    kept.starts_at, kept.ends_at = at("2027-03-12", "10:00"), at("2027-03-12", "11:00")
    kept.save()
    second = {str(e["UID"]): e for e in events(fetch(path).content)}
    assert set(first) == set(second)
    assert second[feeds._uid(kept.pk)].decoded("DTSTART") == at("2027-03-12", "10:00")


def test_feed_covers_a_month_back_to_a_year_ahead_and_only_this_therapists_sessions(client, cast):
    appointment(cast.couple_case, "2027-01-20", room=cast.room)  # 40 days back: left out
    appointment(cast.couple_case, "2027-02-10", room=cast.room)
    appointment(cast.couple_case, "2028-02-20", room=cast.room)
    appointment(cast.couple_case, "2028-03-10", room=cast.room)  # more than a year ahead: left out
    body = fetch(create_feed(client, cast.cotherapist)).content
    starts = sorted(e.decoded("DTSTART").date().isoformat() for e in events(body))
    assert starts == ["2027-02-10", "2028-02-20"]
    assert events(fetch(create_feed(client, cast.therapist_b)).content) == []


# --- Daylight saving ------------------------------------------------------------------------------
def test_ten_oclock_keeps_its_offset_on_both_sides_of_both_changes(client, cast):
    days = {"2027-03-26": 1, "2027-03-29": 2, "2027-10-29": 2, "2027-11-01": 1}
    for day in days:
        appointment(cast.couple_case, day, room=cast.room)
    body = fetch(create_feed(client, cast.therapist_a)).content
    assert b"DTSTART;TZID=Europe/Amsterdam:20270326T100000" in body
    found = {}
    for event in events(body):
        start = event.decoded("DTSTART")
        assert event["DTSTART"].params["TZID"] == "Europe/Amsterdam"
        found[start.date().isoformat()] = (start.hour, start.utcoffset(), start.astimezone(dt.UTC).hour)
    assert found == {day: (10, dt.timedelta(hours=hours), 10 - hours) for day, hours in days.items()}


def test_vtimezone_is_present_and_its_onsets_are_the_real_changes(client, cast):
    appointment(cast.couple_case, "2027-03-29", room=cast.room)
    body = fetch(create_feed(client, cast.therapist_a)).content
    calendar = icalendar.Calendar.from_ical(body)
    (tz,) = calendar.walk("VTIMEZONE")
    assert str(tz["TZID"]) == "Europe/Amsterdam"
    onsets = []
    for part in tz.subcomponents:
        offset_from = part["TZOFFSETFROM"].td
        offset_to = part["TZOFFSETTO"].td
        starts = [part.decoded("DTSTART")]
        rdates = part.get("RDATE")
        for rdate in rdates if isinstance(rdates, list) else [rdates] if rdates else []:
            starts.extend(period.dt for period in rdate.dts)
        for local in starts:
            # RFC 5545: the onset is local time read with the offset in force before it.
            instant = (local - offset_from).replace(tzinfo=dt.UTC)
            onsets.append(instant)
            if offset_from != offset_to:
                assert (instant - dt.timedelta(seconds=1)).astimezone(ZONE).utcoffset() == offset_from
                assert instant.astimezone(ZONE).utcoffset() == offset_to
    changes = sorted(o for o in onsets if o.month in (3, 10))
    assert dt.datetime(2027, 3, 28, 1, 0, tzinfo=dt.UTC) in changes  # 02:00 CET
    assert dt.datetime(2027, 10, 31, 1, 0, tzinfo=dt.UTC) in changes  # 03:00 CEST
    assert b"DTSTART:20270328T020000" in body


def test_vtimezone_for_a_zone_without_daylight_saving():
    tz = feeds.vtimezone("Asia/Tokyo", dt.date(2027, 1, 1), dt.date(2028, 1, 1))
    (part,) = tz.subcomponents
    assert part.name == "STANDARD"
    assert part["TZOFFSETTO"].td == dt.timedelta(hours=9)


def test_feed_runs_a_constant_number_of_queries(client, cast):
    path = create_feed(client, cast.therapist_a)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert fetch(path).status_code == 200
        return len(captured.captured_queries)

    for n in range(2):
        appointment(cast.couple_case, f"2027-03-{10 + n:02d}", room=cast.room)
    queries()  # the first fetch notes itself; later ones within 15 minutes do not write
    small = queries()
    for n in range(20):
        appointment(cast.solo_case, f"2027-04-{1 + n:02d}", kind=AppointmentKind.STANDARD)
    assert queries() == small
    assert len(events(fetch(path).content)) == 22
