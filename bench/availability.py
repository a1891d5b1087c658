"""Time one intensive availability search in a busy practice.

    .venv/bin/python bench/availability.py [--runs 30] [--fresh]

The practice: 30 therapists (15 co-therapy teams), 10 rooms, working hours, leave and closures, and a
year of bookings around today (six months back, six months ahead, thinning out further ahead the way
a real diary does, with some intensive blocks already placed). Every booking is placed on a half-hour
grid against in-memory bitsets, so nobody is double-booked, then bulk-inserted with its occupancy rows.

It times `intensive_options` over a six-month horizon for a couple with its own team, and for a new
couple for whom every team is searched, and `standard_options` (twice a week for twelve weeks), and
prints the median and 95th percentile of wall-clock time, the median CPU time of this process (steadier
on a shared machine), queries and the options found.
It uses its own database: DATABASE_URL if set, otherwise an SQLite file in /tmp, filled once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# bench/http.py would shadow the standard library's http package (which Django imports) for every script
# run from this folder, whose own folder Python puts first on the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = Path("/tmp/tandem-bench-availability.sqlite3")  # noqa: S108 -- a throwaway benchmark database
THERAPISTS = 30
ROOMS = 10
CASES = 600
SLOT = 30  # minutes
DAY_START, DAY_END = 8 * 60, 18 * 60
SEED = 11


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", type=int, default=30, help="timed searches per scenario (default %(default)s)"
    )
    parser.add_argument("--fresh", action="store_true", help="rebuild the benchmark practice")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def configure_environment(fresh: bool) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tandem.settings")
    if "DATABASE_URL" not in os.environ:
        os.environ["DATABASE_URL"] = f"sqlite:///{DEFAULT_DB}"
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{DEFAULT_DB}{suffix}").unlink(missing_ok=True)
    if os.environ.setdefault("DEBUG", "0") in ("0", "false", "no", "off"):
        os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment-2b7e1d4c9f")
        os.environ.setdefault("AUDIT_HMAC_KEY", "bench-only-audit-key-not-for-any-deployment-8a3f6c0e2d")


def clients_of(case: Any) -> list[tuple[str, int]]:
    return [("c", pk) for pk in (case.partner_a_id, case.partner_b_id) if pk is not None]


class Grid:
    """Half-hour bitsets per (resource, local day), as the demo seed keeps them."""

    def __init__(self) -> None:
        self.bits: dict[tuple[str, int, dt.date], int] = {}

    def free(self, keys: list[tuple[str, int]], day: dt.date, start: int, length: int) -> bool:
        mask = ((1 << length) - 1) << start
        return all(not self.bits.get((kind, pk, day), 0) & mask for kind, pk in keys)

    def take(self, keys: list[tuple[str, int]], day: dt.date, start: int, length: int) -> None:
        mask = ((1 << length) - 1) << start
        for kind, pk in keys:
            self.bits[(kind, pk, day)] = self.bits.get((kind, pk, day), 0) | mask


def build(today: dt.date) -> None:
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from tandem.accounts.models import CoTherapyTeam, Gender, Role, TherapistProfile, User, WorkingHours
    from tandem.cases.models import Case, Client, Phase
    from tandem.lib.time import practice_zone
    from tandem.practice.models import Location, Practice, PracticeClosure, Room
    from tandem.scheduling.models import (
        Appointment,
        AppointmentKind,
        Mode,
        Occupancy,
        ResourceKind,
        TimeOff,
    )

    rng = random.Random(SEED)
    zone = practice_zone()
    print("Building the benchmark practice (once)…", flush=True)
    with transaction.atomic():
        practice = Practice.objects.create(name="Bench clinic")
        location = Location.objects.create(practice=practice, name="Main building")
        rooms = Room.objects.bulk_create(Room(location=location, name=f"Room {i + 1}") for i in range(ROOMS))
        users = User.objects.bulk_create(
            User(
                username=f"bench.t{i}",
                first_name=f"Therapist{i}",
                last_name="Bench",
                role=Role.THERAPIST,
                password=make_password(None),
            )
            for i in range(THERAPISTS)
        )
        profiles = TherapistProfile.objects.bulk_create(
            TherapistProfile(user=u, gender=Gender.FEMALE if i % 2 == 0 else Gender.MALE, credentials="MSc")
            for i, u in enumerate(users)
        )
        hours: dict[int, dict[int, tuple[int, int]]] = {}
        rows = []
        for i, (user, profile) in enumerate(zip(users, profiles, strict=True)):
            # A fifth work part-time (no Fridays), the rest full weeks; some start later.
            weekdays = range(4) if i % 5 == 4 else range(5)
            start = DAY_START + (60 if i % 3 == 1 else 0)
            hours[user.pk] = {}
            for weekday in weekdays:
                hours[user.pk][weekday] = (start, DAY_END)
                rows.append(
                    WorkingHours(
                        therapist=profile,
                        location=location,
                        weekday=weekday,
                        starts=dt.time(start // 60, start % 60),
                        ends=dt.time(DAY_END // 60),
                    )
                )
        WorkingHours.objects.bulk_create(rows)
        teams = CoTherapyTeam.objects.bulk_create(
            CoTherapyTeam(first=users[i], second=users[i + 1]) for i in range(0, THERAPISTS, 2)
        )
        clients = Client.objects.bulk_create(
            Client(first_name=f"Client{i}", last_name="Bench") for i in range(CASES * 2)
        )
        cases = Case.objects.bulk_create(
            Case(
                reference=f"T-B{i:04d}",
                partner_a=clients[2 * i],
                partner_b=clients[2 * i + 1],
                phase=Phase.TREATMENT,
                team=teams[i % len(teams)] if i % 3 == 0 else None,
                therapist=None if i % 3 == 0 else users[(i // 3) % THERAPISTS],
                opened_on=today - dt.timedelta(days=200),
            )
            for i in range(CASES)
        )
        first, last = today - dt.timedelta(days=182), today + dt.timedelta(days=183)
        closures = {first + dt.timedelta(days=rng.randrange(365)) for _ in range(8)}
        PracticeClosure.objects.bulk_create(
            PracticeClosure(date=d, reason="Public holiday") for d in closures
        )
        leave: dict[int, set[dt.date]] = {}
        time_off = []
        for user in users:
            leave[user.pk] = set()
            for weeks in (2, 1, 1):
                begin = first + dt.timedelta(days=rng.randrange(350))
                end = begin + dt.timedelta(days=7 * weeks)
                leave[user.pk].update(begin + dt.timedelta(days=k) for k in range(7 * weeks))
                time_off.append(
                    TimeOff(
                        therapist=user,
                        starts_at=dt.datetime.combine(begin, dt.time.min, tzinfo=zone),
                        ends_at=dt.datetime.combine(end, dt.time.min, tzinfo=zone),
                        reason="Leave",
                    )
                )
        TimeOff.objects.bulk_create(time_off)

        grid = Grid()
        planned: list[tuple[Any, str, str, Any, list[Any], dt.date, int, int]] = []

        def try_place(case: Any, therapists: list[Any], day: dt.date, length: int, in_person: bool) -> bool:
            people = [("t", t.pk) for t in therapists] + clients_of(case)
            windows = [hours[t.pk].get(day.weekday()) for t in therapists]
            if any(w is None for w in windows) or any(day in leave[t.pk] for t in therapists):
                return False
            lo = max(w[0] for w in windows if w) // SLOT
            hi = min(w[1] for w in windows if w) // SLOT
            starts = list(range(lo, hi - length + 1))
            rng.shuffle(starts)
            for start in starts[:6]:
                if not grid.free(people, day, start, length):
                    continue
                room = None
                if in_person:
                    for candidate in rng.sample(rooms, len(rooms)):
                        if grid.free([("r", candidate.pk)], day, start, length):
                            room = candidate
                            break
                    if room is None:
                        continue
                grid.take(people + ([("r", room.pk)] if room else []), day, start, length)
                mode = Mode.IN_PERSON if room else Mode.VIDEO
                planned.append((case, AppointmentKind.STANDARD, mode, room, therapists, day, start, length))
                return True
            return False

        # A few intensive blocks already booked in the coming months (ten weekdays, 09:00-11:00).
        for k in range(10):
            team = teams[k % len(teams)]
            case = cases[3 * k]
            day = today + dt.timedelta(days=7 + 9 * k)
            placed = 0
            while placed < 10:
                if day.weekday() < 5 and day not in closures:
                    people: list[tuple[str, int]] = [("t", team.first.pk), ("t", team.second.pk)]
                    room = rooms[k % ROOMS]
                    keys = [*people, *clients_of(case), ("r", room.pk)]
                    if grid.free(keys, day, 2, 4):
                        grid.take(keys, day, 2, 4)
                        planned.append(
                            (
                                case,
                                AppointmentKind.INTENSIVE,
                                Mode.IN_PERSON,
                                room,
                                [team.first, team.second],
                                day,
                                2,
                                4,
                            )
                        )
                    placed += 1
                day += dt.timedelta(days=1)

        by_therapist: dict[int, list[Any]] = {}
        for case in cases:
            if case.therapist_id:
                by_therapist.setdefault(case.therapist_id, []).append(case)
        team_cases = [c for c in cases if c.team_id]
        user_by_pk = {u.pk: u for u in users}
        day = first
        while day <= last:
            if day.weekday() < 5 and day not in closures:
                ahead = (day - today).days
                # Full diaries for three weeks, thinning to a quarter four months out.
                fill = 1.0 if ahead <= 21 else max(0.25, 1 - (ahead - 21) / 120)
                for user in users:
                    for _ in range(round(4 * fill)):
                        case = rng.choice(by_therapist[user.pk])
                        try_place(case, [user], day, rng.choice((2, 2, 3)), rng.random() < 0.7)
                for _ in range(round(5 * fill)):
                    case = rng.choice(team_cases)
                    team = next(t for t in teams if t.pk == case.team_id)
                    members = [user_by_pk[team.first_id], user_by_pk[team.second_id]]
                    try_place(case, members, day, 3, True)
            day += dt.timedelta(days=1)

        def wall(day: dt.date, slot: int) -> dt.datetime:
            minutes = slot * SLOT
            return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=zone)

        appointments = Appointment.objects.bulk_create(
            Appointment(
                case=case,
                kind=kind,
                mode=mode,
                room=room,
                starts_at=wall(d, start),
                ends_at=wall(d, start + n),
            )
            for case, kind, mode, room, _, d, start, n in planned
        )
        through = Appointment.therapists.through
        through.objects.bulk_create(
            through(appointment_id=a.pk, user_id=t.pk)
            for a, plan in zip(appointments, planned, strict=True)
            for t in plan[4]
        )
        occupancy: list[Occupancy] = []
        for a, plan in zip(appointments, planned, strict=True):
            case, room, therapists = plan[0], plan[3], plan[4]
            held = [(ResourceKind.THERAPIST, t.pk) for t in therapists]
            held += [(ResourceKind.CLIENT, case.partner_a_id), (ResourceKind.CLIENT, case.partner_b_id)]
            if room is not None:
                held.append((ResourceKind.ROOM, room.pk))
            occupancy.extend(
                Occupancy(
                    appointment=a, resource_kind=k, resource_id=pk, starts_at=a.starts_at, ends_at=a.ends_at
                )
                for k, pk in held
            )
        Occupancy.objects.bulk_create(occupancy, batch_size=5000)
    print(f"  {len(appointments):,} appointments, {len(occupancy):,} occupancy rows", flush=True)


def main() -> None:
    args = parse_args()
    configure_environment(args.fresh)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tandem.cases.models import Case, Client, Phase
    from tandem.lib.time import local_today
    from tandem.scheduling.availability import intensive_options, standard_options
    from tandem.scheduling.models import Appointment, Occupancy

    call_command("migrate", interactive=False, verbosity=0)
    today = local_today()
    if not Case.objects.filter(reference__startswith="T-B").exists():
        build(today)
    own = Case.objects.with_people().filter(reference="T-B0000").get()
    newcomer = Case.objects.with_people().filter(reference="T-BNEW").first()
    if newcomer is None:
        a = Client.objects.create(first_name="New", last_name="Bench")
        b = Client.objects.create(first_name="Other", last_name="Bench")
        Case.objects.create(reference="T-BNEW", partner_a=a, partner_b=b, phase=Phase.INTAKE, opened_on=today)
        newcomer = Case.objects.with_people().get(reference="T-BNEW")
    print(
        f"Practice: {Appointment.objects.count():,} appointments, "
        f"{Occupancy.objects.count():,} occupancy rows; database {connection.vendor}"
    )
    first_day = today + dt.timedelta(days=1)

    def intensive(case: Any) -> list[Any]:
        return intensive_options(case=case, first_day=first_day, daily_minutes=120)

    def weekly(case: Any) -> list[Any]:
        # Twice a week on any two weekdays, the same slot free for twelve weeks.
        return standard_options(case=case, first_day=first_day, weekdays=None, per_week=2, weeks=12)

    for label, case, search in (
        ("case with its own team", own, intensive),
        ("new couple, every team", newcomer, intensive),
        ("weekly series, 2 a week", own, weekly),
    ):
        for _ in range(3):
            search(case)
        timings = []
        cpu = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as queries:
                started, started_cpu = time.perf_counter(), time.process_time()
                options = search(case)
                timings.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
        timings.sort()
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        earliest = options[0] if options else None
        found = (
            f"first option {earliest.first_day} {earliest.start_time:%H:%M} "
            f"{earliest.room.name if earliest.room else earliest.mode}"
            if earliest
            else "no option"
        )
        print(
            f"{label:<24} median {statistics.median(timings):7.1f} ms  p95 {p95:7.1f} ms  "
            f"(CPU median {statistics.median(cpu):.1f} ms)  {len(queries.captured_queries)} queries  "
            f"{len(options)} options  ({found})"
        )


if __name__ == "__main__":
    main()
