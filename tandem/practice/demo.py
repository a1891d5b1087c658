"""The synthetic demo practice, and its large variant for benchmarks.

Everything here is invented: people, the clinic, addresses, 555-01xx numbers and `.invalid` e-mail
domains. Rows are bulk-inserted without audit events: seeding is set-up, not anybody looking at a record,
and one audit append per row would make the benchmark practice take hours to build.

The history is simulated forward from each case's opening day through the phases, and every session is
placed in a half-hour slot grid per therapist and per room, so the generated calendar never double-books
anyone: the pages then show what a real practice would, and the benchmark measures realistic rows.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.db import models, transaction
from django.test.utils import override_settings
from django.utils import timezone

from tandem.accounts.models import CoTherapyTeam, Gender, Role, TherapistProfile, User, WorkingHours
from tandem.cases.models import (
    AbsentPartner,
    Case,
    CaseProblem,
    Client,
    Phase,
    PhaseChange,
    PresentingProblem,
)
from tandem.cases.services import case_reference
from tandem.pathway.demo import DemoCase, seed_pathway
from tandem.practice.models import Location, Practice, Room
from tandem.scheduling.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Mode,
    Occupancy,
    ResourceKind,
)

DEMO_PRACTICE_NAME = "Larkspur Relationship Clinic (demo)"
DEMO_PASSWORD = "tandem-demo-2026"  # noqa: S105 -- published on purpose: printed at start-up
DEMO_URL = "http://127.0.0.1:8000/"
STAFF_DOMAIN = "staff.tandem-demo.invalid"
CLIENT_DOMAIN = "clients.tandem-demo.invalid"
DEFAULT_SEED = 2026
DEMO_CASES = 30
BATCH = 2000

# One log-in per role; (role, username). Other generated staff get unusable passwords.
DEMO_LOGINS: tuple[tuple[str, str], ...] = (
    (Role.DIRECTOR, "director"),
    (Role.THERAPIST, "therapist"),
    (Role.COORDINATOR, "coordinator"),
    (Role.CLIENT, "client"),
)

# --- Invented names ------------------------------------------------------------------------------
FEMALE_FIRST = (
    "Maren",
    "Ilse",
    "Noor",
    "Freya",
    "Carys",
    "Liesbet",
    "Annika",
    "Saskia",
    "Elodie",
    "Rosalind",
    "Tamsin",
    "Veerle",
    "Hedda",
    "Odile",
    "Yara",
    "Mirthe",
    "Bryony",
    "Linnea",
    "Petra",
    "Greta",
    "Isolde",
    "Marit",
    "Selin",
    "Wren",
    "Aveline",
    "Brigid",
    "Daphne",
    "Esmee",
    "Fenna",
    "Hester",
)
MALE_FIRST = (
    "Joris",
    "Anders",
    "Tobias",
    "Rafael",
    "Idris",
    "Casper",
    "Lucan",
    "Matthijs",
    "Evander",
    "Oskar",
    "Bram",
    "Sven",
    "Teodor",
    "Ruben",
    "Alasdair",
    "Florian",
    "Jasper",
    "Niels",
    "Dorian",
    "Emrys",
    "Gideon",
    "Hugo",
    "Ivo",
    "Lorcan",
    "Milo",
    "Otto",
    "Piet",
    "Soren",
    "Wouter",
    "Ansel",
)
NEUTRAL_FIRST = ("Robin", "Sasha", "Noa", "Kit", "Jules", "Quinn", "Rowan", "Sam", "Charlie", "Ari")
LAST_NAMES = (
    "Ashgrove",
    "Brambleton",
    "Calloway",
    "Dunmere",
    "Eldridge",
    "Fairwood",
    "Glenhaven",
    "Holloway",
    "Ivesdale",
    "Juniper",
    "Kestrelle",
    "Larchmont",
    "Marlow",
    "Northcott",
    "Oakhurst",
    "Pennywell",
    "Quarrington",
    "Rookwood",
    "Sallowmere",
    "Thistlewood",
    "Underhill",
    "Vantwoud",
    "Westerveld",
    "Yarrowby",
    "Zandhove",
    "Brookmere",
    "Copperfell",
    "Dovecote",
    "Emberly",
    "Foxwell",
    "Gorseby",
    "Hazelrigg",
    "Inglenook",
    "Kingsmoor",
    "Lindqvist",
    "Meadowcroft",
    "Nettlefold",
    "Orchardson",
    "Primrose",
    "Ravensworth",
    "Stillwater",
    "Tamberlane",
    "Vellacott",
    "Whitlowe",
    "Wychwood",
)
CREDENTIALS = (
    "MSc Clinical Psychology, certified sex therapist",
    "MA Couple and Family Therapy, registered psychotherapist",
    "MD, psychiatrist and sexologist",
    "MSc Sexology, registered couples therapist",
    "PhD Clinical Psychology, certified sex therapist",
)
LICENCE_BODY = "Fictional Board of Relationship Therapists"
PRONOUNS = {"F": "she/her", "M": "he/him", "N": "they/them"}

# --- Sessions: minutes each kind lasts ----------------------------------------------------------
MINUTES = {
    AppointmentKind.CONSULTATION: 20,
    AppointmentKind.JOINT_ASSESSMENT: 90,
    AppointmentKind.INDIVIDUAL_ASSESSMENT: 50,
    AppointmentKind.INTENSIVE: 120,
    AppointmentKind.STANDARD: 50,
    AppointmentKind.CONJUNCTIVE: 50,
    AppointmentKind.FOLLOW_UP_VISIT: 50,
    AppointmentKind.FOLLOW_UP_CALL: 20,
}
ACTIVE_PHASES = (Phase.ASSESSMENT, Phase.TREATMENT, Phase.FOLLOW_UP)
MIN_ACTIVE_FOR_DEMO_THERAPIST = 6
INTENSIVE = "intensive"
STANDARD = "standard"
PATH = (
    Phase.CONSULTATION,
    Phase.INTAKE,
    Phase.ASSESSMENT,
    Phase.TREATMENT,
    Phase.FOLLOW_UP,
    Phase.DISCHARGED,
)
REASONS: dict[str, str] = {
    Phase.CONSULTATION: "Consultation request received.",
    Phase.INTAKE: "Free consultation held; the clients chose to continue.",
    Phase.ASSESSMENT: "Intake forms complete.",
    Phase.TREATMENT: "Assessment complete; treatment format agreed.",
    Phase.FOLLOW_UP: "Treatment phase complete.",
    Phase.DISCHARGED: "Follow-up complete; discharged by agreement.",
    Phase.CLOSED: "Closed without treatment: the clients did not continue.",
}
# Presenting problems that concern one partner of a given sex, or the couple as a whole.
MALE_PROBLEMS = {
    "erectile-disorder",
    "erectile-dysfunction-organic",
    "premature-ejaculation",
    "delayed-ejaculation",
}
FEMALE_PROBLEMS = {"female-orgasmic-disorder", "vaginismus"}
COUPLE_PROBLEMS = {"relationship-distress", "intimacy-problems"}

# --- The slot grid --------------------------------------------------------------------------------
GRID_START = 8 * 60  # minutes after midnight
SLOT = 30
SLOTS = 24  # 08:00 to 20:00
FULL_DAY = (1 << SLOTS) - 1
DAY = dt.timedelta(days=1)


def _bits(start: int, length: int) -> int:
    return ((1 << length) - 1) << start


def _slots_for(minutes: int) -> int:
    return math.ceil(minutes / SLOT)


@dataclass(frozen=True)
class Shift:
    start: int  # first slot
    end: int  # slot after the last
    location_id: int


class Calendar:
    """Half-hour occupancy per person and per room per day, as bit masks."""

    def __init__(self, shifts: dict[int, dict[int, Shift]], rooms: dict[int, list[int]]) -> None:
        self.shifts = shifts
        self.rooms = rooms
        self._people: dict[tuple[int, dt.date], int] = {}
        self._rooms: dict[tuple[int, dt.date], int] = {}
        self._orders: dict[tuple[int, int], list[int]] = {}

    def shift(self, user_id: int, day: dt.date) -> Shift | None:
        return self.shifts.get(user_id, {}).get(day.weekday())

    def _person(self, user_id: int, day: dt.date) -> int:
        key = (user_id, day)
        mask = self._people.get(key)
        if mask is None:
            shift = self.shift(user_id, day)
            # Slots outside working hours start out taken.
            mask = FULL_DAY if shift is None else FULL_DAY & ~_bits(shift.start, shift.end - shift.start)
            self._people[key] = mask
        return mask

    def occupy(
        self, user_ids: Sequence[int], room_id: int | None, day: dt.date, start: int, length: int
    ) -> None:
        end = min(start + length, SLOTS)
        start = max(start, 0)
        length = end - start
        if length <= 0:
            return
        block = _bits(start, length)
        for user_id in user_ids:
            self._people[(user_id, day)] = self._person(user_id, day) | block
        if room_id is not None:
            self._rooms[(room_id, day)] = self._rooms.get((room_id, day), 0) | block

    def _order(self, preferred: int, length: int) -> list[int]:
        key = (preferred, length)
        order = self._orders.get(key)
        if order is None:
            order = sorted(range(SLOTS - length + 1), key=lambda s: (abs(s - preferred), s))
            self._orders[key] = order
        return order

    def place(
        self, user_ids: Sequence[int], day: dt.date, length: int, preferred: int, want_room: bool
    ) -> tuple[int, int | None] | None:
        """Book the free start nearest `preferred` for everyone, with a room when one is free.

        Returns (start slot, room id or None), or None when the people have no common free time that day.
        """
        busy = 0
        for user_id in user_ids:
            busy |= self._person(user_id, day)
        shift = self.shift(user_ids[0], day)
        rooms = self.rooms.get(shift.location_id, []) if want_room and shift is not None else []
        fallback: int | None = None
        for start in self._order(preferred, length):
            block = _bits(start, length)
            if busy & block:
                continue
            if not want_room:
                self.occupy(user_ids, None, day, start, length)
                return start, None
            for room_id in rooms:
                if not self._rooms.get((room_id, day), 0) & block:
                    self.occupy(user_ids, room_id, day, start, length)
                    return start, room_id
            if fallback is None:
                fallback = start
        if fallback is None:
            return None
        # Every room is taken whenever these people are free: the session goes to video instead.
        self.occupy(user_ids, None, day, fallback, length)
        return fallback, None


def slot_time(day: dt.date, slot: int, zone: ZoneInfo) -> dt.datetime:
    minutes = GRID_START + slot * SLOT
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=zone)


def slot_of(moment: dt.datetime, zone: ZoneInfo) -> int:
    local = moment.astimezone(zone)
    return (local.hour * 60 + local.minute - GRID_START) // SLOT


def _slots_between(starts: dt.datetime, ends: dt.datetime) -> int:
    # +1 covers a session that starts off the half-hour grid (booked by hand in the app).
    return math.ceil((ends - starts).total_seconds() / 60 / SLOT) + 1


def occupancies(
    appointment: Appointment, clinicians: Sequence[int], partners: Sequence[int | None]
) -> list[Occupancy]:
    """The occupancy rows the booking services would write (none for a cancelled appointment)."""
    if appointment.status == AppointmentStatus.CANCELLED:
        return []
    held = [(ResourceKind.THERAPIST, pk) for pk in clinicians]
    held += [(ResourceKind.CLIENT, pk) for pk in partners if pk is not None]
    if appointment.room_id is not None:
        held.append((ResourceKind.ROOM, appointment.room_id))
    return [
        Occupancy(
            appointment=appointment,
            resource_kind=kind,
            resource_id=pk,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
        )
        for kind, pk in held
    ]


# --- Plans ----------------------------------------------------------------------------------------
@dataclass
class PersonPlan:
    first: str
    last: str
    sex: str  # F, M or N: only to pick names, pronouns and which problems fit


@dataclass
class CasePlan:
    partner_a: PersonPlan
    partner_b: PersonPlan | None
    absent: str
    therapist: int | None  # index into the therapists
    team: int | None  # index into the teams
    fmt: str
    opened: dt.date
    durations: dict[str, int]
    close_after: str | None
    slot: int
    steps: list[tuple[str, dt.date]] = field(default_factory=list)

    @property
    def phase(self) -> str:
        return self.steps[-1][0]


@dataclass
class Booking:
    case: int
    kind: str
    mode: str
    starts: dt.datetime
    ends: dt.datetime
    room_id: int | None
    status: str
    clinicians: tuple[int, ...]


@dataclass
class SeedReport:
    created: bool
    cases: int
    appointments: int
    added_today: int
    seconds: float


def _durations(rng: random.Random, fmt: str) -> dict[str, int]:
    """Days spent in each phase (the treatment and follow-up lengths follow the format)."""
    return {
        Phase.CONSULTATION: rng.randint(5, 14),
        Phase.INTAKE: rng.randint(7, 21),
        Phase.ASSESSMENT: rng.randint(18, 35),
        Phase.TREATMENT: rng.randint(22, 30) if fmt == INTENSIVE else 7 * rng.randint(4, 14),
        Phase.FOLLOW_UP: rng.randint(190, 200) if fmt == INTENSIVE else rng.randint(100, 130),
    }


def _path(close_after: str | None) -> tuple[str, ...]:
    if close_after is None:
        return PATH
    return (*PATH[: PATH.index(close_after) + 1], Phase.CLOSED)


def _walk(plan: CasePlan, today: dt.date) -> None:
    """The phases this case has entered by today, each with the day it entered it."""
    day = plan.opened
    plan.steps = []
    for phase in _path(plan.close_after):
        if day > today:
            break
        plan.steps.append((phase, day))
        if phase in (Phase.DISCHARGED, Phase.CLOSED):
            break
        day += dt.timedelta(days=plan.durations[phase])


def _opened_for(plan: CasePlan, target: str, today: dt.date, rng: random.Random) -> dt.date:
    """The opening day that puts a case in `target` today (used for the hand-picked demo cases)."""
    path = _path(plan.close_after)
    before = path[: path.index(target)]
    if target in (Phase.DISCHARGED, Phase.CLOSED):
        entered = today - dt.timedelta(days=rng.randint(10, 300))
    else:
        entered = today - dt.timedelta(days=rng.randint(0, plan.durations[target] - 1))
    return entered - dt.timedelta(days=sum(plan.durations[p] for p in before))


T = TypeVar("T", bound=models.Model)


def _bulk(model: type[T], rows: list[T]) -> list[T]:
    return model._default_manager.bulk_create(rows, batch_size=BATCH)


class Builder:
    """Builds one practice: the small hand-picked demo, or the large synthetic one."""

    def __init__(self, *, seed: int, n_cases: int | None, now: dt.datetime | None = None) -> None:
        self.rng = random.Random(seed)  # noqa: S311 -- synthetic data, determinism wanted
        self.seed = seed
        self.large = n_cases is not None
        self.n_cases = n_cases if n_cases is not None else DEMO_CASES
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self.now = now or timezone.now()
        self.today = timezone.localdate(self.now, self.zone)
        self.therapists: list[User] = []
        self.teams: list[CoTherapyTeam] = []
        self.bookings: list[Booking] = []

    # --- people and places ------------------------------------------------------------------------
    def build(self) -> SeedReport:
        started = time.monotonic()
        self.practice = Practice.objects.create(
            name=DEMO_PRACTICE_NAME, phone="555-0100", email="hello@tandem-demo.invalid"
        )
        self._places()
        self._staff()
        plans = self._plans()
        self.calendar = Calendar(self.shift_map, self.rooms_by_location)
        for index, plan in enumerate(plans):
            self._schedule(index, plan)
        cases = self._insert(plans)
        self._client_login(plans, cases)
        if not self.large:
            # The pathway records (intake, referrals, plans, follow-up) of the hand-picked demo cases.
            seed_pathway(
                items=[
                    DemoCase(case, plan.steps, plan.fmt == INTENSIVE)
                    for plan, case in zip(plans, cases, strict=True)
                ],
                now=self.now,
                demo_therapist_id=self.therapists[0].pk,
            )
        added = ensure_today(now=self.now, seed=self.seed)
        return SeedReport(
            created=True,
            cases=len(cases),
            appointments=len(self.bookings) + added,
            added_today=added,
            seconds=time.monotonic() - started,
        )

    def _places(self) -> None:
        north = Location.objects.create(
            practice=self.practice, name="Larkspur House", address="1 Larkspur Lane\nExampleton (fictional)"
        )
        south = Location.objects.create(
            practice=self.practice, name="Riverside Annex", address="22 Towpath Row\nExampleton (fictional)"
        )
        self.locations = [north, south]
        if self.large:
            per_location = max(2, math.ceil(len(self._therapist_specs()) / 4))
            rooms = [
                Room(location=loc, name=f"Room {loc_index * per_location + n + 1}", accessible=n % 3 == 0)
                for loc_index, loc in enumerate(self.locations)
                for n in range(per_location)
            ]
        else:
            rooms = [
                Room(location=north, name="Garden Room", accessible=True, capacity=4),
                Room(location=north, name="Study", accessible=False, capacity=3),
                Room(location=south, name="River Room", accessible=True, capacity=4),
            ]
        _bulk(Room, rooms)
        self.rooms_by_location: dict[int, list[int]] = {}
        for room in Room.objects.filter(location__practice=self.practice).order_by("id"):
            self.rooms_by_location.setdefault(room.location_id, []).append(room.pk)

    def _therapist_specs(self) -> list[tuple[str, str, str]]:
        """(first, last, sex) per therapist; the first is the demo log-in."""
        if not self.large:
            return [
                ("Maren", "Ashgrove", "F"),
                ("Joris", "Calloway", "M"),
                ("Freya", "Dunmere", "F"),
                ("Anders", "Holloway", "M"),
                ("Carys", "Northcott", "F"),
                ("Tobias", "Oakhurst", "M"),
                ("Liesbet", "Pennywell", "F"),
                ("Idris", "Rookwood", "M"),
            ]
        specs = [("Maren", "Ashgrove", "F")]
        names_rng = random.Random(self.seed + 1)  # noqa: S311 -- synthetic data
        seen = {"Maren Ashgrove"}
        while len(specs) < 40:
            sex = "F" if len(specs) % 2 == 0 else "M"
            first = names_rng.choice(FEMALE_FIRST if sex == "F" else MALE_FIRST)
            last = names_rng.choice(LAST_NAMES)
            if f"{first} {last}" not in seen:
                seen.add(f"{first} {last}")
                specs.append((first, last, sex))
        return specs

    def _user(self, username: str, role: str, first: str, last: str, password: str | None) -> User:
        user = User(
            username=username,
            role=role,
            first_name=first,
            last_name=last,
            email=f"{username}@{STAFF_DOMAIN}",
            is_staff=role == Role.DIRECTOR,
            is_superuser=role == Role.DIRECTOR,
        )
        if password is not None:
            validate_password(password, user)
        user.password = make_password(password)
        user.save()
        return user

    def _staff(self) -> None:
        self.director = self._user("director", Role.DIRECTOR, "Dorothea", "Fairwood", DEMO_PASSWORD)
        self.coordinator = self._user("coordinator", Role.COORDINATOR, "Jules", "Brookmere", DEMO_PASSWORD)
        profiles: list[TherapistProfile] = []
        hours: list[WorkingHours] = []
        self.shift_map: dict[int, dict[int, Shift]] = {}
        north, south = self.locations
        for index, (first, last, sex) in enumerate(self._therapist_specs()):
            username = "therapist" if index == 0 else f"{first}.{last}".lower()
            user = self._user(username, Role.THERAPIST, first, last, DEMO_PASSWORD if index == 0 else None)
            self.therapists.append(user)
            profiles.append(
                TherapistProfile(
                    user=user,
                    gender=Gender.FEMALE if sex == "F" else Gender.MALE,
                    credentials=CREDENTIALS[index % len(CREDENTIALS)],
                    licence_number=f"DEMO-{1000 + index}",
                    licence_body=LICENCE_BODY,
                    licence_expires=self.today + dt.timedelta(days=200 + 37 * index),
                    bio="A fictional therapist in the Tandem demo practice.",
                    # A few take the public site's free consultations, so its booking page has times.
                    offers_consultation=index < 3,
                )
            )
            # Staggered hours, yet a team's two members still overlap for most of the day.
            start, end = ((0, 16), (2, 20), (4, 22))[index % 3]
            home, other = (north, south) if index % 2 == 0 else (south, north)
            weekdays = {day: (start, end, home) for day in range(5)}
            if index % 4 == 3:
                weekdays[2] = (start, end, other)  # one day a week at the other location
            if index % 5 == 4:
                del weekdays[4]  # part-time: no Fridays
            if index in (0, 1):
                # A weekend clinic, so the demo therapist has sessions today whichever day the demo starts.
                weekdays[5] = (6, 22, north)
                weekdays[6] = (6, 22, north)
            for weekday, (s, e, loc) in weekdays.items():
                hours.append(
                    WorkingHours(
                        therapist=profiles[-1],
                        location=loc,
                        weekday=weekday,
                        starts=slot_time(self.today, s, self.zone).time(),
                        ends=slot_time(self.today, e, self.zone).time() if e < SLOTS else dt.time(20, 0),
                    )
                )
                self.shift_map.setdefault(user.pk, {})[weekday] = Shift(s, e, loc.pk)
        _bulk(TherapistProfile, profiles)
        for row in hours:
            row.therapist_id = row.therapist.pk
        _bulk(WorkingHours, hours)
        women = [
            t for t, spec in zip(self.therapists, self._therapist_specs(), strict=True) if spec[2] == "F"
        ]
        men = [t for t, spec in zip(self.therapists, self._therapist_specs(), strict=True) if spec[2] == "M"]
        n_teams = 3 if not self.large else 16
        self.teams = _bulk(
            CoTherapyTeam,
            [CoTherapyTeam(first=w, second=m) for w, m in list(zip(women, men, strict=False))[:n_teams]],
        )

    # --- cases ------------------------------------------------------------------------------------
    def _person(self, sex: str, last: str | None = None) -> PersonPlan:
        names = {"F": FEMALE_FIRST, "M": MALE_FIRST, "N": NEUTRAL_FIRST}[sex]
        return PersonPlan(self.rng.choice(names), last or self.rng.choice(LAST_NAMES), sex)

    def _couple(self) -> tuple[PersonPlan, PersonPlan]:
        pair = self.rng.choices(("FM", "MF", "FF", "MM", "NF", "NM"), weights=(35, 35, 12, 10, 4, 4))[0]
        first = self._person(pair[0])
        # Some couples share a surname.
        second = self._person(pair[1], first.last if self.rng.random() < 0.3 else None)
        return first, second

    def _plans(self) -> list[CasePlan]:
        return self._demo_plans() if not self.large else self._large_plans()

    def _new_plan(
        self,
        *,
        couple: bool,
        absent: str,
        therapist: int | None,
        team: int | None,
        fmt: str,
        close_after: str | None,
    ) -> CasePlan:
        if couple:
            a, b = self._couple()
            partner_b: PersonPlan | None = b
        else:
            a, partner_b = self._person(self.rng.choice("FFMMN")), None
        return CasePlan(
            partner_a=a,
            partner_b=partner_b,
            absent="" if couple else absent,
            therapist=therapist,
            team=team,
            fmt=fmt,
            opened=self.today,
            durations=_durations(self.rng, fmt),
            close_after=close_after,
            slot=self.rng.randrange(SLOTS - 1),
        )

    def _demo_plans(self) -> list[CasePlan]:
        """Thirty hand-picked cases: every phase, absent partners of each kind, teams and solo work."""
        c, u, w, n = "couple", AbsentPartner.UNAVAILABLE, AbsentPartner.UNWILLING, AbsentPartner.NO_PARTNER
        # (phase now, who attends, therapist index or team "tN" or None, format, closed after)
        specs: list[tuple[str, str, int | str | None, str, str | None]] = [
            (Phase.CONSULTATION, c, None, STANDARD, None),
            (Phase.CONSULTATION, c, None, STANDARD, None),
            (Phase.CONSULTATION, c, 0, STANDARD, None),
            (Phase.CONSULTATION, n, 2, STANDARD, None),
            (Phase.INTAKE, c, 0, STANDARD, None),
            (Phase.INTAKE, c, "t1", INTENSIVE, None),
            (Phase.INTAKE, u, 1, STANDARD, None),
            (Phase.INTAKE, c, 4, STANDARD, None),
            (Phase.ASSESSMENT, c, "t0", INTENSIVE, None),
            (Phase.ASSESSMENT, c, 0, STANDARD, None),
            (Phase.ASSESSMENT, w, 0, STANDARD, None),
            (Phase.ASSESSMENT, c, 5, STANDARD, None),
            (Phase.ASSESSMENT, c, 6, STANDARD, None),
            (Phase.TREATMENT, c, "t0", INTENSIVE, None),
            (Phase.TREATMENT, c, "t1", INTENSIVE, None),
            (Phase.TREATMENT, c, 0, STANDARD, None),
            (Phase.TREATMENT, c, 0, STANDARD, None),
            (Phase.TREATMENT, u, 0, STANDARD, None),
            (Phase.TREATMENT, c, 1, STANDARD, None),
            (Phase.TREATMENT, c, 3, STANDARD, None),
            (Phase.TREATMENT, w, 7, STANDARD, None),
            (Phase.FOLLOW_UP, c, "t0", INTENSIVE, None),
            (Phase.FOLLOW_UP, c, 0, STANDARD, None),
            (Phase.FOLLOW_UP, c, "t2", INTENSIVE, None),
            (Phase.FOLLOW_UP, c, 2, STANDARD, None),
            (Phase.DISCHARGED, c, 0, STANDARD, None),
            (Phase.DISCHARGED, c, "t1", INTENSIVE, None),
            (Phase.DISCHARGED, n, 5, STANDARD, None),
            (Phase.CLOSED, c, 6, STANDARD, Phase.CONSULTATION),
            (Phase.CLOSED, w, 3, STANDARD, Phase.ASSESSMENT),
        ]
        plans = []
        for target, who, clinician, fmt, close_after in specs:
            plan = self._new_plan(
                couple=who == c,
                absent=who,
                fmt=fmt,
                close_after=close_after,
                therapist=clinician if isinstance(clinician, int) else None,
                team=int(clinician[1:]) if isinstance(clinician, str) else None,
            )
            plan.opened = _opened_for(plan, target, self.today, self.rng)
            _walk(plan, self.today)
            assert plan.phase == target, (plan.phase, target)
            plans.append(plan)
        return plans

    def _large_plans(self) -> list[CasePlan]:
        """Cases opened evenly over six years; where each is today follows from its simulated history."""
        first_day = self.today - dt.timedelta(days=6 * 365)
        span = (self.today - first_day).days
        plans = []
        for _ in range(self.n_cases):
            couple = self.rng.random() < 0.75
            absent = (
                ""
                if couple
                else self.rng.choices(
                    (AbsentPartner.UNAVAILABLE, AbsentPartner.UNWILLING, AbsentPartner.NO_PARTNER), (4, 3, 3)
                )[0]
            )
            on_team = couple and self.rng.random() < 0.3
            fmt = INTENSIVE if on_team and self.rng.random() < 0.8 else STANDARD
            r = self.rng.random()
            close_after = (
                Phase.CONSULTATION
                if r < 0.10
                else Phase.INTAKE
                if r < 0.15
                else Phase.ASSESSMENT
                if r < 0.20
                else None
            )
            plan = self._new_plan(
                couple=couple,
                absent=absent,
                fmt=fmt,
                close_after=close_after,
                therapist=None if on_team else self.rng.randrange(len(self.therapists)),
                team=self.rng.randrange(len(self.teams)) if on_team else None,
            )
            plan.opened = first_day + dt.timedelta(days=self.rng.randrange(span + 1))
            _walk(plan, self.today)
            # Fresh requests are often not assigned yet: the front desk's Today list shows them.
            if plan.phase == Phase.CONSULTATION and self.rng.random() < 0.4:
                plan.therapist = plan.team = None
            plans.append(plan)
        # Newest cases last, so that row ids grow with the opening day as they do in a real practice.
        plans.sort(key=lambda p: p.opened)
        # A small practice may leave the demo log-in with nobody in care: hand it a few current cases.
        active = [p for p in plans if p.phase in ACTIVE_PHASES and p.therapist is not None]
        mine = sum(1 for p in active if p.therapist == 0)
        for plan in reversed(active):
            if mine >= MIN_ACTIVE_FOR_DEMO_THERAPIST:
                break
            if plan.therapist != 0:
                plan.therapist, mine = 0, mine + 1
        return plans

    # --- sessions ---------------------------------------------------------------------------------
    def _clinicians(self, plan: CasePlan) -> tuple[int, ...]:
        if plan.team is not None:
            team = self.teams[plan.team]
            return (team.first_id, team.second_id)
        if plan.therapist is not None:
            return (self.therapists[plan.therapist].pk,)
        return ()

    def _mode(self, kind: str) -> str:
        r = self.rng.random()
        if kind == AppointmentKind.FOLLOW_UP_CALL:
            return Mode.PHONE
        if kind == AppointmentKind.CONSULTATION:
            return Mode.VIDEO if r < 0.5 else Mode.PHONE if r < 0.65 else Mode.IN_PERSON
        if kind == AppointmentKind.FOLLOW_UP_VISIT:
            return Mode.VIDEO if r < 0.3 else Mode.IN_PERSON
        return Mode.VIDEO if r < 0.15 else Mode.IN_PERSON

    def _status(self, ends: dt.datetime) -> str:
        if ends > self.now:
            return AppointmentStatus.BOOKED
        r = self.rng.random()
        return (
            AppointmentStatus.ATTENDED
            if r < 0.9
            else AppointmentStatus.CANCELLED
            if r < 0.96
            else AppointmentStatus.NO_SHOW
        )

    def _book(
        self,
        case: int,
        plan: CasePlan,
        kind: str,
        day: dt.date,
        until: dt.date,
        *,
        people: tuple[int, ...] | None = None,
        flexible: bool = True,
    ) -> None:
        """Place one session on `day`, or (when flexible) the first later day before `until` with room."""
        clinicians = people or self._clinicians(plan)
        if not clinicians:
            return
        minutes = MINUTES[AppointmentKind(kind)]
        length = _slots_for(minutes)
        mode = self._mode(kind)
        last = min(until - DAY, day + 6 * DAY) if flexible else day
        while day <= last:
            placed = self.calendar.place(clinicians, day, length, plan.slot, mode == Mode.IN_PERSON)
            if placed is not None:
                start, room_id = placed
                if mode == Mode.IN_PERSON and room_id is None:
                    mode = Mode.VIDEO
                starts = slot_time(day, start, self.zone)
                ends = starts + dt.timedelta(minutes=minutes)
                self.bookings.append(
                    Booking(case, kind, mode, starts, ends, room_id, self._status(ends), clinicians)
                )
                return
            day += DAY

    def _schedule(self, case: int, plan: CasePlan) -> None:
        """The sessions each phase of the case's history (and its near future) would have had."""
        rng = self.rng
        for position, (phase, entered) in enumerate(plan.steps):
            current = position == len(plan.steps) - 1
            until = entered + dt.timedelta(days=plan.durations.get(phase, 0))
            if phase == Phase.CONSULTATION:
                self._book(case, plan, AppointmentKind.CONSULTATION, entered + rng.randint(1, 3) * DAY, until)
            elif phase == Phase.INTAKE and current:
                # The joint assessment is booked while the intake forms come in.
                day = max(entered, self.today) + rng.randint(2, 10) * DAY
                self._book(case, plan, AppointmentKind.JOINT_ASSESSMENT, day, day + 7 * DAY)
            elif phase == Phase.ASSESSMENT:
                self._book(
                    case, plan, AppointmentKind.JOINT_ASSESSMENT, entered + rng.randint(1, 4) * DAY, until
                )
                self._book(
                    case,
                    plan,
                    AppointmentKind.INDIVIDUAL_ASSESSMENT,
                    entered + rng.randint(6, 9) * DAY,
                    until,
                )
                if plan.partner_b is not None:
                    self._book(
                        case,
                        plan,
                        AppointmentKind.INDIVIDUAL_ASSESSMENT,
                        entered + rng.randint(10, 13) * DAY,
                        until,
                    )
            elif phase == Phase.TREATMENT and plan.fmt == INTENSIVE:
                day = entered + 3 * DAY
                for _ in range(10):
                    while day.weekday() >= 5:  # intensive days are weekdays
                        day += DAY
                    self._book(case, plan, AppointmentKind.INTENSIVE, day, until, flexible=False)
                    day += DAY
            elif phase == Phase.TREATMENT:
                if current:
                    until = min(until, self.today + 21 * DAY)
                twice = rng.random() < 0.2
                conjunctive = plan.partner_b is not None and rng.random() < 0.15
                day, week = entered + 3 * DAY, 0
                while day < until:
                    self._book(case, plan, AppointmentKind.STANDARD, day, min(until, day + 3 * DAY))
                    if twice:
                        self._book(
                            case, plan, AppointmentKind.STANDARD, day + 3 * DAY, min(until, day + 7 * DAY)
                        )
                    if conjunctive and week % 4 == 3:
                        self._book(
                            case,
                            plan,
                            AppointmentKind.CONJUNCTIVE,
                            day + DAY,
                            min(until, day + 7 * DAY),
                            people=self._clinicians(plan)[:1],
                        )
                    day, week = day + 7 * DAY, week + 1
            elif phase == Phase.FOLLOW_UP:
                offsets = (14, 30, 91, 182) if plan.fmt == INTENSIVE else (30, 91)
                for offset in offsets:
                    kind = (
                        AppointmentKind.FOLLOW_UP_VISIT
                        if rng.random() < 0.5
                        else AppointmentKind.FOLLOW_UP_CALL
                    )
                    self._book(case, plan, kind, entered + offset * DAY, until)

    # --- rows -------------------------------------------------------------------------------------
    def _clients(self, plans: list[CasePlan]) -> list[Client]:
        rows: list[Client] = []
        for plan in plans:
            for person in (plan.partner_a, plan.partner_b):
                if person is None:
                    continue
                number = len(rows) + 1
                rows.append(
                    Client(
                        first_name=person.first,
                        last_name=person.last,
                        pronouns=PRONOUNS[person.sex],
                        date_of_birth=self.today - dt.timedelta(days=self.rng.randint(22 * 365, 70 * 365)),
                        email=(
                            f"{person.first}.{person.last}.{number}@{CLIENT_DOMAIN}".lower()
                            if self.rng.random() < 0.7
                            else ""
                        ),
                        phone=f"555-01{self.rng.randrange(100):02d}" if self.rng.random() < 0.6 else "",
                    )
                )
        return _bulk(Client, rows)

    def _insert(self, plans: list[CasePlan]) -> list[Case]:
        clients = iter(self._clients(plans))
        partners: list[tuple[Client, Client | None]] = [
            (next(clients), next(clients) if plan.partner_b is not None else None) for plan in plans
        ]
        cases = []
        for index, (plan, (a, b)) in enumerate(zip(plans, partners, strict=True)):
            phase, entered = plan.steps[-1]
            cases.append(
                Case(
                    # Placeholder until the row id is known; the real reference is derived from it below.
                    reference=f"seed-{index}",
                    partner_a=a,
                    partner_b=b,
                    absent_partner=plan.absent,
                    phase=phase,
                    opened_on=plan.opened,
                    therapist=self.therapists[plan.therapist] if plan.therapist is not None else None,
                    team=self.teams[plan.team] if plan.team is not None else None,
                    presenting_notes="Synthetic demo record: no real person.",
                    closed_on=entered if phase in (Phase.DISCHARGED, Phase.CLOSED) else None,
                )
            )
        cases = _bulk(Case, cases)
        for case in cases:
            case.reference = case_reference(case)
        Case.objects.bulk_update(cases, ["reference"], batch_size=BATCH)
        self._history(plans, cases)
        self._problems(plans, cases, partners)
        self._appointments(cases)
        return cases

    def _history(self, plans: list[CasePlan], cases: list[Case]) -> None:
        rows: list[PhaseChange] = []
        for plan, case in zip(plans, cases, strict=True):
            clinicians = self._clinicians(plan)
            previous = ""
            for phase, entered in plan.steps:
                at = dt.datetime.combine(
                    entered,
                    dt.time(self.rng.randint(8, 17), self.rng.choice((0, 15, 30, 45))),
                    tzinfo=self.zone,
                )
                at = min(at, self.now - dt.timedelta(minutes=1))
                early = phase in (Phase.CONSULTATION, Phase.INTAKE) or not clinicians
                rows.append(
                    PhaseChange(
                        case=case,
                        from_phase=previous,
                        to_phase=phase,
                        at=at,
                        by_id=self.coordinator.pk if early else clinicians[0],
                        reason=REASONS[phase],
                    )
                )
                previous = phase
            if len(rows) >= BATCH * 5:
                _bulk(PhaseChange, rows)
                rows = []
        _bulk(PhaseChange, rows)

    def _problems(
        self, plans: list[CasePlan], cases: list[Case], partners: list[tuple[Client, Client | None]]
    ) -> None:
        problems = list(PresentingProblem.objects.order_by("sort_order").values_list("pk", "slug"))
        if not problems:
            return
        rows: list[CaseProblem] = []
        for plan, case, (a, b) in zip(plans, cases, partners, strict=True):
            if plan.phase == Phase.CONSULTATION and self.rng.random() < 0.5:
                continue  # not recorded yet: a therapist records problems after the consultation
            people = [(a, plan.partner_a.sex)] + ([(b, plan.partner_b.sex)] if b and plan.partner_b else [])
            seen: set[tuple[int, int | None]] = set()
            for pk, slug in self.rng.sample(problems, self.rng.randint(1, 3)):
                if slug in COUPLE_PROBLEMS and b is not None:
                    client: Client | None = None
                else:
                    fits = [
                        person
                        for person, sex in people
                        if not (slug in MALE_PROBLEMS and sex != "M")
                        and not (slug in FEMALE_PROBLEMS and sex != "F")
                    ]
                    if not fits:
                        continue
                    client = self.rng.choice(fits)
                key = (pk, client.pk if client else None)
                if key not in seen:
                    seen.add(key)
                    rows.append(CaseProblem(case=case, problem_id=pk, client=client))
        _bulk(CaseProblem, rows)

    def _appointments(self, cases: list[Case]) -> None:
        through = Appointment.therapists.through
        for chunk_start in range(0, len(self.bookings), BATCH):
            chunk = self.bookings[chunk_start : chunk_start + BATCH]
            rows = _bulk(
                Appointment,
                [
                    Appointment(
                        case_id=cases[b.case].pk,
                        kind=b.kind,
                        mode=b.mode,
                        starts_at=b.starts,
                        ends_at=b.ends,
                        room_id=b.room_id,
                        status=b.status,
                    )
                    for b in chunk
                ],
            )
            links = [
                through(appointment_id=row.pk, user_id=user_id)
                for row, b in zip(rows, chunk, strict=True)
                for user_id in b.clinicians
            ]
            through.objects.bulk_create(links, batch_size=BATCH)
            _bulk(
                Occupancy,
                [
                    occupancy
                    for row, b in zip(rows, chunk, strict=True)
                    for occupancy in occupancies(
                        row, b.clinicians, (cases[b.case].partner_a_id, cases[b.case].partner_b_id)
                    )
                ],
            )

    def _client_login(self, plans: list[CasePlan], cases: list[Case]) -> None:
        """The client log-in is one partner of a couple that the demo therapist is treating now."""
        demo = self.therapists[0].pk

        preferred = (Phase.TREATMENT, Phase.ASSESSMENT, Phase.FOLLOW_UP)

        def rank(item: tuple[CasePlan, Case]) -> tuple[int, int]:
            plan, case = item
            return (preferred.index(plan.phase) if plan.phase in preferred else len(preferred), case.pk)

        candidates = [
            (plan, case)
            for plan, case in zip(plans, cases, strict=True)
            if case.partner_b_id is not None and plan.team is None and case.therapist_id == demo
        ]
        if not candidates:
            return
        _, case = min(candidates, key=rank)
        client = case.partner_a
        user = User(
            username="client",
            role=Role.CLIENT,
            first_name=client.first_name,
            last_name=client.last_name,
            email=f"client@{CLIENT_DOMAIN}",
        )
        validate_password(DEMO_PASSWORD, user)
        user.password = make_password(DEMO_PASSWORD)
        user.save()
        client.user = user
        client.email = user.email or ""
        client.save(update_fields=["user", "email"])


# Sessions today that ensure_today tops each working therapist up to: the demo log-in gets a full day.
TODAY_FOR_DEMO_THERAPIST = 4
TODAY_FOR_OTHERS = 1


def ensure_today(*, now: dt.datetime | None = None, seed: int = DEFAULT_SEED) -> int:
    """Top up today's sessions of each therapist who works today, from their own open cases.

    The demo is often started days after it was seeded; this keeps its Today page alive. It only adds
    what is missing from a fixed number per therapist, so a second run on the same day changes nothing.
    """
    zone = ZoneInfo(settings.TIME_ZONE)
    now = now or timezone.now()
    today = timezone.localdate(now, zone)
    practice = Practice.objects.filter(name=DEMO_PRACTICE_NAME).first()
    if practice is None:
        return 0
    shifts: dict[int, dict[int, Shift]] = {}
    for user_id, location_id, starts, ends in WorkingHours.objects.filter(
        weekday=today.weekday(), location__practice=practice
    ).values_list("therapist__user_id", "location_id", "starts", "ends"):
        first = (starts.hour * 60 + starts.minute - GRID_START) // SLOT
        last = math.ceil((ends.hour * 60 + ends.minute - GRID_START) / SLOT)
        shifts.setdefault(user_id, {})[today.weekday()] = Shift(max(first, 0), min(last, SLOTS), location_id)
    rooms: dict[int, list[int]] = {}
    for room_id, location_id in (
        Room.objects.filter(location__practice=practice, active=True)
        .order_by("id")
        .values_list("id", "location_id")
    ):
        rooms.setdefault(location_id, []).append(room_id)
    calendar = Calendar(shifts, rooms)
    todays = Appointment.objects.between(
        dt.datetime.combine(today, dt.time.min, tzinfo=zone),
        dt.datetime.combine(today + DAY, dt.time.min, tzinfo=zone),
    )
    have: dict[int, int] = {}
    cases_today: set[int] = set()
    through = Appointment.therapists.through
    for user_id, case_id, status, starts_at, ends_at in through.objects.filter(
        appointment__in=todays
    ).values_list(
        "user_id",
        "appointment__case_id",
        "appointment__status",
        "appointment__starts_at",
        "appointment__ends_at",
    ):
        calendar.occupy([user_id], None, today, slot_of(starts_at, zone), _slots_between(starts_at, ends_at))
        cases_today.add(case_id)
        if status != AppointmentStatus.CANCELLED:
            have[user_id] = have.get(user_id, 0) + 1
    for room_id, starts_at, ends_at in todays.filter(room__isnull=False).values_list(
        "room_id", "starts_at", "ends_at"
    ):
        calendar.occupy([], room_id, today, slot_of(starts_at, zone), _slots_between(starts_at, ends_at))
    kinds = {
        Phase.ASSESSMENT: AppointmentKind.INDIVIDUAL_ASSESSMENT,
        Phase.TREATMENT: AppointmentKind.STANDARD,
        Phase.FOLLOW_UP: AppointmentKind.FOLLOW_UP_VISIT,
    }
    added = 0
    for therapist in User.objects.filter(pk__in=list(shifts)).order_by("pk"):
        wanted = TODAY_FOR_DEMO_THERAPIST if therapist.username == "therapist" else TODAY_FOR_OTHERS
        missing = wanted - have.get(therapist.pk, 0)
        if missing <= 0:
            continue
        rng = random.Random(f"{seed}-{today.isoformat()}-{therapist.pk}")  # noqa: S311 -- synthetic data
        cases = [
            (case_id, phase, tuple(u for u in (solo, first, second) if u is not None))
            for case_id, phase, solo, first, second in Case.objects.assigned_to(therapist)
            .filter(phase__in=list(kinds))
            .order_by("pk")
            .values_list("pk", "phase", "therapist_id", "team__first_id", "team__second_id")
            if case_id not in cases_today
        ]
        rng.shuffle(cases)
        shift = shifts[therapist.pk][today.weekday()]
        number = 0
        for case_id, phase, clinicians in cases:
            if number >= missing:
                break
            kind = kinds[Phase(phase)]
            minutes = MINUTES[kind]
            # Spread over the shift rather than stacked at its start.
            preferred = shift.start + (number * (shift.end - shift.start)) // missing
            # A team case needs the co-therapist free too (and working today at all).
            placed = calendar.place(clinicians, today, _slots_for(minutes), preferred, want_room=True)
            if placed is None:
                continue
            number += 1
            slot, room = placed
            starts_at = slot_time(today, slot, zone)
            ends_at = starts_at + dt.timedelta(minutes=minutes)
            appointment = Appointment.objects.create(
                case_id=case_id,
                kind=kind,
                mode=Mode.IN_PERSON if room else Mode.VIDEO,
                starts_at=starts_at,
                ends_at=ends_at,
                room_id=room,
                status=AppointmentStatus.ATTENDED if ends_at <= now else AppointmentStatus.BOOKED,
            )
            appointment.therapists.add(*clinicians)
            partners = Case.objects.values_list("partner_a_id", "partner_b_id").get(pk=case_id)
            Occupancy.objects.bulk_create(occupancies(appointment, clinicians, partners))
            cases_today.add(case_id)
            for user_id in clinicians:
                have[user_id] = have.get(user_id, 0) + 1
            added += 1
    return added


def counts() -> dict[str, int]:
    through = Appointment.therapists.through
    sources: dict[str, Callable[[], int]] = {
        "practices": Practice.objects.count,
        "locations": Location.objects.count,
        "rooms": Room.objects.count,
        "therapists": TherapistProfile.objects.count,
        "working hours": WorkingHours.objects.count,
        "teams": CoTherapyTeam.objects.count,
        "users": User.objects.count,
        "clients": Client.objects.count,
        "cases": Case.objects.count,
        "phase changes": PhaseChange.objects.count,
        "case problems": CaseProblem.objects.count,
        "appointments": Appointment.objects.count,
        "appointment therapists": through.objects.count,
        "occupancy rows": Occupancy.objects.count,
    }
    return {name: count() for name, count in sources.items()}


def seed(*, cases: int | None = None, seed: int = DEFAULT_SEED, now: dt.datetime | None = None) -> SeedReport:
    """Build the demo practice once; on later runs only top up today's sessions (see ensure_today)."""
    started = time.monotonic()
    if Practice.objects.filter(name=DEMO_PRACTICE_NAME).exists():
        with transaction.atomic():
            added = ensure_today(now=now, seed=seed)
        return SeedReport(
            created=False,
            cases=Case.objects.count(),
            appointments=Appointment.objects.count(),
            added_today=added,
            seconds=time.monotonic() - started,
        )
    # With DEBUG on (as under `make run`), Django renders every bulk INSERT into its query log, which
    # costs the large build about a sixth of its time; nothing reads that log during a seed.
    quiet = override_settings(DEBUG=False) if cases is not None else nullcontext()
    # The build holds a few hundred thousand objects that form no cycles, which the cyclic collector
    # would rescan again and again: switching it off saves about a tenth of the large build.
    gc.disable()
    try:
        with quiet, transaction.atomic():
            report = Builder(seed=seed, n_cases=cases, now=now).build()
    finally:
        gc.enable()
    from tandem.measures.loader import load_instruments
    from tandem.measures.schedule import measures_schedule_all

    # The questionnaire library; for the small demo also each case's due questionnaires (the large
    # benchmark build leaves that to `manage.py measures_schedule`).
    load_instruments()
    if cases is None:
        measures_schedule_all()
    report.seconds = time.monotonic() - started
    return report


def login_lines() -> Iterator[str]:
    labels = dict(Role.choices)
    width = max(len(label) for label in labels.values())
    yield f"Demo log-ins at {DEMO_URL} (password for each: {DEMO_PASSWORD})"
    for role, username in DEMO_LOGINS:
        yield f"  {labels[role]:<{width}}  username {username:<12} password {DEMO_PASSWORD}"
