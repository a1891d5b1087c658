"""Sessions: each case's appointments with their occupancy rows, and today's top-up on later runs."""

from __future__ import annotations

import datetime as dt
import math
import random
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from tandem.accounts.models import User, WorkingHours
from tandem.cases.models import Case, Phase
from tandem.demo.data import (
    BATCH,
    DAY,
    DEFAULT_SEED,
    DEMO_PRACTICE_NAME,
    GRID_START,
    INTENSIVE,
    MINUTES,
    SLOT,
    SLOTS,
)
from tandem.demo.grid import (
    Calendar,
    Shift,
    attending,
    occupancies,
    slot_of,
    slot_time,
    slots_between,
    slots_for,
)
from tandem.demo.plans import Booking, CasePlan, bulk
from tandem.demo.state import SeedState
from tandem.practice.models import Practice, Room
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus, Mode, Occupancy


class SessionsSeed(SeedState):
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
        length = slots_for(minutes)
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

    def _appointments(self, cases: list[Case]) -> None:
        through = Appointment.therapists.through
        attendee = Appointment.attendees.through
        nth: dict[tuple[int, str], int] = {}
        for chunk_start in range(0, len(self.bookings), BATCH):
            chunk = self.bookings[chunk_start : chunk_start + BATCH]
            rows = bulk(
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
            who = []
            for b in chunk:
                key = (b.case, b.kind)
                who.append(
                    attending(
                        b.kind, (cases[b.case].partner_a_id, cases[b.case].partner_b_id), nth.get(key, 0)
                    )
                )
                nth[key] = nth.get(key, 0) + 1
            attendee.objects.bulk_create(
                [
                    attendee(appointment_id=row.pk, client_id=client_id)
                    for row, clients in zip(rows, who, strict=True)
                    for client_id in clients
                ],
                batch_size=BATCH,
            )
            bulk(
                Occupancy,
                [
                    occupancy
                    for row, b, clients in zip(rows, chunk, who, strict=True)
                    for occupancy in occupancies(row, b.clinicians, clients)
                ],
            )


TODAY_FOR_DEMO_THERAPIST = 4
TODAY_FOR_OTHERS = 1


KINDS_TODAY = {
    Phase.ASSESSMENT: AppointmentKind.INDIVIDUAL_ASSESSMENT,
    Phase.TREATMENT: AppointmentKind.STANDARD,
    Phase.FOLLOW_UP: AppointmentKind.FOLLOW_UP_VISIT,
}


class TodayTopUp:
    """Today's calendar as it stands (who works, what is booked), and the sessions that top it up."""

    def __init__(self, practice: Practice, *, now: dt.datetime, seed: int) -> None:
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self.now = now
        self.today = timezone.localdate(now, self.zone)
        self.seed = seed
        self.shifts = self._shifts(practice)
        rooms: dict[int, list[int]] = {}
        for room_id, location_id in (
            Room.objects.filter(location__practice=practice, active=True)
            .order_by("id")
            .values_list("id", "location_id")
        ):
            rooms.setdefault(location_id, []).append(room_id)
        self.calendar = Calendar(self.shifts, rooms)
        self.have: dict[int, int] = {}
        self.cases_today: set[int] = set()
        self._taken()

    def _shifts(self, practice: Practice) -> dict[int, dict[int, Shift]]:
        weekday = self.today.weekday()
        shifts: dict[int, dict[int, Shift]] = {}
        for user_id, location_id, starts, ends in WorkingHours.objects.filter(
            weekday=weekday, location__practice=practice
        ).values_list("therapist__user_id", "location_id", "starts", "ends"):
            first = (starts.hour * 60 + starts.minute - GRID_START) // SLOT
            last = math.ceil((ends.hour * 60 + ends.minute - GRID_START) / SLOT)
            shifts.setdefault(user_id, {})[weekday] = Shift(max(first, 0), min(last, SLOTS), location_id)
        return shifts

    def _taken(self) -> None:
        today, zone = self.today, self.zone
        todays = Appointment.objects.between(
            dt.datetime.combine(today, dt.time.min, tzinfo=zone),
            dt.datetime.combine(today + DAY, dt.time.min, tzinfo=zone),
        )
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
            self.calendar.occupy(
                [user_id], None, today, slot_of(starts_at, zone), slots_between(starts_at, ends_at)
            )
            self.cases_today.add(case_id)
            if status != AppointmentStatus.CANCELLED:
                self.have[user_id] = self.have.get(user_id, 0) + 1
        for room_id, starts_at, ends_at in todays.filter(room__isnull=False).values_list(
            "room_id", "starts_at", "ends_at"
        ):
            self.calendar.occupy(
                [], room_id, today, slot_of(starts_at, zone), slots_between(starts_at, ends_at)
            )

    def top_up(self, therapist: User) -> int:
        """Add today's missing sessions for one therapist from their own open cases; returns how many."""
        wanted = TODAY_FOR_DEMO_THERAPIST if therapist.username == "therapist" else TODAY_FOR_OTHERS
        missing = wanted - self.have.get(therapist.pk, 0)
        if missing <= 0:
            return 0
        rng = random.Random(f"{self.seed}-{self.today.isoformat()}-{therapist.pk}")  # noqa: S311 -- synthetic
        cases = [
            (case_id, phase, tuple(u for u in (solo, first, second) if u is not None))
            for case_id, phase, solo, first, second in Case.objects.assigned_to(therapist)
            .filter(phase__in=list(KINDS_TODAY))
            .order_by("pk")
            .values_list("pk", "phase", "therapist_id", "team__first_id", "team__second_id")
            if case_id not in self.cases_today
        ]
        rng.shuffle(cases)
        shift = self.shifts[therapist.pk][self.today.weekday()]
        number = 0
        for case_id, phase, clinicians in cases:
            if number >= missing:
                break
            kind = KINDS_TODAY[Phase(phase)]
            minutes = MINUTES[kind]
            # Spread over the shift rather than stacked at its start.
            preferred = shift.start + (number * (shift.end - shift.start)) // missing
            # A team case needs the co-therapist free too (and working today at all).
            placed = self.calendar.place(
                clinicians, self.today, slots_for(minutes), preferred, want_room=True
            )
            if placed is not None:
                self._book(case_id, kind, minutes, placed, clinicians)
                number += 1
        return number

    def _book(
        self,
        case_id: int,
        kind: str,
        minutes: int,
        placed: tuple[int, int | None],
        clinicians: tuple[int, ...],
    ) -> None:
        slot, room = placed
        starts_at = slot_time(self.today, slot, self.zone)
        ends_at = starts_at + dt.timedelta(minutes=minutes)
        appointment = Appointment.objects.create(
            case_id=case_id,
            kind=kind,
            mode=Mode.IN_PERSON if room else Mode.VIDEO,
            starts_at=starts_at,
            ends_at=ends_at,
            room_id=room,
            status=AppointmentStatus.ATTENDED if ends_at <= self.now else AppointmentStatus.BOOKED,
        )
        appointment.therapists.add(*clinicians)
        partners = Case.objects.values_list("partner_a_id", "partner_b_id").get(pk=case_id)
        clients = attending(kind, partners, 0)
        appointment.attendees.add(*clients)
        Occupancy.objects.bulk_create(occupancies(appointment, clinicians, clients))
        self.cases_today.add(case_id)
        for user_id in clinicians:
            self.have[user_id] = self.have.get(user_id, 0) + 1


def ensure_today(*, now: dt.datetime | None = None, seed: int = DEFAULT_SEED) -> int:
    """Top up today's sessions of each therapist who works today, from their own open cases.

    The demo is often started days after it was seeded; this keeps its Today page alive. It only adds
    what is missing from a fixed number per therapist, so a second run on the same day changes nothing.
    """
    practice = Practice.objects.filter(name=DEMO_PRACTICE_NAME).first()
    if practice is None:
        return 0
    day = TodayTopUp(practice, now=now or timezone.now(), seed=seed)
    return sum(day.top_up(t) for t in User.objects.filter(pk__in=list(day.shifts)).order_by("pk"))
