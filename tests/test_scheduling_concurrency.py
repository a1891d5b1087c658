"""No double booking under load: many booking requests at once through the HTTP API, on PostgreSQL.

The requests form "cliques": sets in which every request clashes with every other (same therapist,
same room or same client; exact and partial overlaps; intensive blocks against single sessions), so
exactly one of each set may win. A few back-to-back requests must all win. Afterwards no partial
intensive block may remain and no two occupancy rows of one resource may overlap.
"""

import datetime as dt
import itertools
import json
import random
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client as HttpClient

from tandem.accounts.models import CoTherapyTeam, Gender, Role, User
from tandem.cases.models import AbsentPartner, Case, Client, Phase
from tandem.practice.models import Room
from tandem.scheduling import selectors, services
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentSeries, Occupancy
from tests.cast import build_cast, login, make_user

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason=(
            "needs PostgreSQL: the live server shares SQLite's in-memory test database through one "
            "connection, so requests could not race; on SQLite, IMMEDIATE transactions serialize bookings"
        ),
    ),
    pytest.mark.django_db(transaction=True),
]

ZONE = ZoneInfo("Europe/Amsterdam")
NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
THREADS = 16
BOOK = "/scheduling/api/appointments/"
INTENSIVE = "/scheduling/api/intensives/"

Claim = tuple[str, int, dt.datetime, dt.datetime]


def at(day: str, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(hhmm), tzinfo=ZONE)


@dataclass
class Request:
    name: str
    clique: str | None  # requests of one clique all clash with each other
    url: str
    body: dict
    claims: list[Claim] = field(default_factory=list)
    status: int = 0
    answer: dict = field(default_factory=dict)


def _people(case: Case, therapists: list, room: Room | None) -> list[tuple[str, int]]:
    held = [("therapist", t.pk) for t in therapists] + [("client", c.pk) for c in case.partners]
    return held + ([("room", room.pk)] if room is not None else [])


def single(clique, case, day, start, end, room=None) -> Request:
    starts_at, ends_at = at(day, start), at(day, end)
    therapists = case.clinicians
    body = {
        "case": case.pk,
        "kind": AppointmentKind.STANDARD,
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "therapists": [t.pk for t in therapists],
        "room": room.pk if room else None,
        "mode": "in_person" if room else "video",
    }
    claims = [(k, pk, starts_at, ends_at) for k, pk in _people(case, therapists, room)]
    return Request(f"{case.reference} {day} {start}-{end}", clique, BOOK, body, claims)


def block(clique, case, room, first_day, start) -> Request:
    days = services.clinic_days(dt.date.fromisoformat(first_day), 10, weekdays_only=True)
    periods = [(s, s + dt.timedelta(hours=2)) for s in (at(d.isoformat(), start) for d in days)]
    body = {
        "case": case.pk,
        "team": case.team_id,
        "room": room.pk,
        "first_day": first_day,
        "start_time": start,
    }
    claims = [(k, pk, s, e) for s, e in periods for k, pk in _people(case, case.clinicians, room)]
    return Request(f"intensive {case.reference} {first_day} {start}", clique, INTENSIVE, body, claims)


def clash(a: Request, b: Request) -> bool:
    return any(
        ka == kb and ia == ib and sa < eb and sb < ea
        for (ka, ia, sa, ea), (kb, ib, sb, eb) in itertools.product(a.claims, b.claims)
    )


def new_case(reference, *, therapist=None, team=None, partner_a=None, couple=False) -> Case:
    a = partner_a or Client.objects.create(first_name="Rowan", last_name=f"Client {reference}")
    b = Client.objects.create(first_name="Kit", last_name=f"Client {reference}") if couple else None
    case = Case.objects.create(
        reference=reference,
        partner_a=a,
        partner_b=b,
        absent_partner="" if couple else AbsentPartner.UNAVAILABLE,
        phase=Phase.TREATMENT,
        therapist=therapist,
        team=team,
        opened_on=dt.date(2026, 10, 1),
    )
    return Case.objects.with_people().get(pk=case.pk)


def post(base: str, session: str, csrf: str, request: Request) -> None:
    cookies = f"{django_settings.SESSION_COOKIE_NAME}={session}; {django_settings.CSRF_COOKIE_NAME}={csrf}"
    http = urllib.request.Request(  # noqa: S310 -- the local live server
        base + request.url,
        data=json.dumps(request.body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Cookie": cookies,
            "X-CSRFToken": csrf,
        },
    )
    try:
        with urllib.request.urlopen(http, timeout=120) as response:  # noqa: S310 -- the local live server
            request.status, request.answer = response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        body = refused.read()
        request.status = refused.code
        request.answer = json.loads(body) if body.startswith(b"{") else {"raw": body[:300].decode()}


def test_fifty_concurrent_bookings_never_double_book(live_server, settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel(NOW, tick=True):
        requests = build_requests()
        # Two sessions each for the front desk and the director, as if from four browsers.
        sessions = [
            login(HttpClient(), user).cookies[settings.SESSION_COOKIE_NAME].value
            for user in User.objects.filter(role__in=(Role.COORDINATOR, Role.DIRECTOR))
            for _ in range(2)
        ]
        csrf = _get_new_csrf_string()
        random.Random(4).shuffle(requests)
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(
                pool.map(
                    lambda item: post(live_server.url, sessions[item[0] % len(sessions)], csrf, item[1]),
                    enumerate(requests),
                )
            )
    check_outcome(requests)


def build_requests() -> list[Request]:
    cast = build_cast()
    location = cast.room.location
    room_1 = cast.room
    room_2 = Room.objects.create(location=location, name="Room 2")
    room_3 = Room.objects.create(location=location, name="Room 3")
    fiona = make_user("fiona.female", Role.THERAPIST, first="Fiona", last="Female", gender=Gender.FEMALE)
    mark = make_user("mark.male", Role.THERAPIST, first="Mark", last="Male", gender=Gender.MALE)
    for hours in cast.therapist_a.therapist_profile.working_hours.all():
        for extra in (fiona, mark):
            hours.pk, hours.therapist = None, extra.therapist_profile
            hours.save()
    couple = Case.objects.with_people().get(pk=cast.couple_case.pk)
    solo = Case.objects.with_people().get(pk=cast.solo_case.pk)
    theo_couple = new_case("T-C3", therapist=cast.therapist_b, couple=True)
    theo_solo = new_case("T-C6", therapist=cast.therapist_b)
    mark_solo = new_case("T-C5", therapist=mark)
    team_case = new_case("T-C4", team=CoTherapyTeam.objects.create(first=fiona, second=mark), couple=True)
    alex_alone = new_case("T-C7", therapist=fiona, partner_a=couple.partner_a)

    requests: list[Request] = []
    # Same therapist (Theo), two of his cases, no room: every one holds 11:00-11:15.
    d1 = "2027-04-05"
    for case, start, end, times in [
        (theo_couple, "10:00", "12:00", 3),
        (theo_solo, "10:00", "12:00", 2),
        (theo_solo, "10:30", "11:30", 2),
        (theo_couple, "11:00", "11:50", 2),
        (theo_solo, "09:30", "11:15", 2),
        (theo_couple, "10:45", "11:45", 1),
    ]:
        requests += [single("therapist", case, d1, start, end) for _ in range(times)]
    # Back to back with each other, clear of the clique: all three must succeed.
    requests += [
        single(None, theo_couple, d1, "13:00", "14:00"),
        single(None, theo_couple, d1, "14:00", "15:00"),
        single(None, theo_solo, d1, "15:00", "16:00"),
    ]
    # Same room, three cases with nobody in common: every one holds Room 2 at 14:00-14:15.
    d2 = "2027-04-06"
    for case, start, end, times in [
        (solo, "13:00", "15:00", 3),
        (mark_solo, "14:00", "14:50", 3),
        (theo_couple, "13:30", "14:15", 2),
        (solo, "14:00", "16:00", 2),
        (mark_solo, "13:15", "14:30", 2),
    ]:
        requests += [single("room", case, d2, start, end, room_2) for _ in range(times)]
    # Same client (Alex): the couple's case and Alex's own case with another therapist, 10:00-10:15.
    d3 = "2027-04-07"
    for case, start, end, times in [
        (couple, "09:00", "10:15", 2),
        (alex_alone, "10:00", "11:00", 3),
        (couple, "09:45", "10:30", 2),
        (alex_alone, "10:00", "10:50", 2),
        (couple, "10:00", "12:00", 2),
        (alex_alone, "08:30", "10:05", 1),
    ]:
        requests += [single("client", case, d3, start, end) for _ in range(times)]
    # Intensive blocks for the couple against single sessions of Tess on day six (10 May, 10:15-10:20).
    requests += [block("intensive-therapist", couple, room_1, "2027-05-03", "09:00") for _ in range(2)]
    requests += [
        block("intensive-therapist", couple, room_1, "2027-05-03", "09:30"),
        block("intensive-therapist", couple, room_1, "2027-05-04", "09:00"),
        single("intensive-therapist", solo, "2027-05-10", "10:00", "10:50"),
        single("intensive-therapist", solo, "2027-05-10", "10:00", "10:50"),
        single("intensive-therapist", solo, "2027-05-10", "10:15", "11:00"),
        single("intensive-therapist", solo, "2027-05-10", "09:45", "10:20"),
    ]
    # Intensive blocks of another team against single sessions in their room on day three.
    requests += [block("intensive-room", team_case, room_3, "2027-06-07", "13:00") for _ in range(2)]
    requests += [
        block("intensive-room", team_case, room_3, "2027-06-07", "12:00"),
        single("intensive-room", theo_couple, "2027-06-09", "13:30", "14:00", room_3),
        single("intensive-room", theo_couple, "2027-06-09", "13:30", "14:00", room_3),
        single("intensive-room", solo, "2027-06-09", "13:00", "13:50", room_3),
        single("intensive-room", solo, "2027-06-09", "13:00", "13:50", room_3),
        single("intensive-room", theo_solo, "2027-06-09", "12:30", "13:45", room_3),
    ]
    assert len(requests) >= 50
    # The design holds: every clique clashes pairwise, and cliques do not touch each other.
    for a, b in itertools.combinations(requests, 2):
        if a.clique is not None and a.clique == b.clique:
            assert clash(a, b), (a.name, b.name)
        else:
            assert not clash(a, b), (a.name, b.name)
    return requests


def check_outcome(requests: list[Request]) -> None:
    unexpected = [(r.name, r.status, r.answer) for r in requests if r.status not in (201, 409)]
    assert not unexpected, unexpected
    won = [r for r in requests if r.status == 201]
    for clique in {r.clique for r in requests if r.clique}:
        members = [r for r in requests if r.clique == clique]
        assert sum(r.status == 201 for r in members) == 1, [(r.name, r.status, r.answer) for r in members]
    assert all(r.status == 201 for r in requests if r.clique is None)
    for refused in (r for r in requests if r.status == 409):
        message = refused.answer["error"]
        assert "already has" in message or "is taken" in message or "same moment" in message, message
        # A refusal was deserved: it clashes with a request that won.
        assert any(clash(refused, winner) for winner in won), refused.name
    for a, b in itertools.combinations(won, 2):
        assert not clash(a, b), (a.name, b.name)

    # No partial block: each intensive series holds all ten days, and no intensive stands alone.
    series = list(AppointmentSeries.objects.all())
    assert len(series) == sum(r.url == INTENSIVE for r in won)
    assert all(s.appointments.count() == 10 for s in series)
    assert Appointment.objects.filter(kind=AppointmentKind.INTENSIVE, series__isnull=True).count() == 0
    assert Appointment.objects.count() == sum(10 if r.url == INTENSIVE else 1 for r in won)
    assert Occupancy.objects.count() == sum(len(r.claims) for r in won)
    assert selectors.overlapping_occupancy() == []
