"""Between the database and the pure planner: build an instance from the waiting list and calendars,
and book an accepted plan's blocks through the scheduling services.

The instance follows ``docs/intensive-planning.md``. It names couples, therapists and rooms
by database id only ("c12", "t3", "r1"), so that the stored instance and plan carry no names.

Choices where the format leaves the mapping open:

- One run plans one location: its rooms, and each therapist's working hours at that location (booking
  checks hours at the room's location too). Busy times count wherever they are.
- A therapist's busy times are every occupancy row (any appointment at any location) and every time-off
  period in the horizon; a room's are its occupancy rows.
- A couple is unavailable on every local day on which either partner already has an appointment: an
  intensive day leaves no room for another session, and this keeps partners' own calendars respected.
- earliest_start is the first day of the horizon (which the form keeps after today); weight grows with
  time on the waiting list: 1 plus one point per four full weeks since the couple started waiting
  (the first version of the unbroken run of intensive plan versions), at most 5.
- The team rule maps mixed_gender -> "mixed_gender", any_pair -> "pair", single_allowed -> "single"
  (a single therapist uses the least capacity, and the rule allows it).
- A case that already has a co-therapy team may only be planned with that team; a case with one
  assigned therapist keeps that therapist in the team (mixed_gender: the other therapists of that
  gender are excluded; single: everyone else is). Under "pair" a single assigned therapist cannot be
  expressed in the format; accepting then assigns the planned pair to the case.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q

from tandem.accounts.models import CoTherapyTeam, Role, User, WorkingHours
from tandem.cases.models import Case
from tandem.cases.services import case_update
from tandem.lib.time import local_day_bounds, practice_zone
from tandem.planning.instance import WEEKDAYS, InstanceError, parse
from tandem.planning.waiting import intensive_waiting_list, waiting_since
from tandem.practice.models import Location, PracticeClosure, PracticePolicy, Room, TeamRule
from tandem.scheduling.models import (
    AppointmentSeries,
    Occupancy,
    ResourceKind,
    TimeOff,
)
from tandem.scheduling.services import BookingInvalid, intensive_book, team_form

DEFAULT_SLOT_STARTS = ("09:00", "11:30", "14:30")
MAX_WEIGHT = 5
WEEKS_PER_POINT = 4
TEAM_RULES = {
    TeamRule.MIXED_GENDER: "mixed_gender",
    TeamRule.ANY_PAIR: "pair",
    TeamRule.SINGLE_ALLOWED: "single",
}


def weight_for(waiting_from: dt.date, first_day: dt.date) -> int:
    weeks = max(0, (first_day - waiting_from).days) // 7
    return min(MAX_WEIGHT, 1 + weeks // WEEKS_PER_POINT)


def _local(value: dt.datetime, *, up: bool = False) -> str:
    """A local wall-clock date-time to the minute; end times are rounded up so nothing is shortened."""
    local = value.astimezone(practice_zone())
    if up and (local.second or local.microsecond):
        local = local.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return local.strftime("%Y-%m-%dT%H:%M")


def _dates(start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    zone = practice_zone()
    first = start.astimezone(zone).date()
    # The end is exclusive: an appointment ending at midnight does not touch the next day.
    last = (end - dt.timedelta(microseconds=1)).astimezone(zone).date()
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]


def couple_id(case_pk: int) -> str:
    return f"c{case_pk}"


def therapist_id(user_pk: int) -> str:
    return f"t{user_pk}"


def room_id(room_pk: int) -> str:
    return f"r{room_pk}"


def pk_of(ref: str) -> int:
    return int(ref[1:])


def _hhmm(value: dt.time) -> str:
    return value.strftime("%H:%M")


def _excluded(case: Case, therapists: list[User], genders: dict[int, str], team: str) -> list[str]:
    """Who may not serve the case, so that any plan keeps its current assignment (see module doc)."""
    if case.team_id is not None:
        allowed = {case.team.first_id, case.team.second_id} if case.team is not None else set()
    elif case.therapist_id is not None:
        if team == "mixed_gender":
            gender = genders.get(case.therapist_id, "")
            same = {t.pk for t in therapists if genders[t.pk] == gender and gender in ("female", "male")}
            others = {t.pk for t in therapists if t.pk not in same}
            allowed = others | {case.therapist_id} if same else {case.therapist_id}
        elif team == "single":
            allowed = {case.therapist_id}
        else:
            return []
    else:
        return []
    return [therapist_id(t.pk) for t in therapists if t.pk not in allowed]


def build_instance(
    *,
    first_day: dt.date,
    last_day: dt.date,
    location: Location | None = None,
    slot_starts: tuple[str, ...] = DEFAULT_SLOT_STARTS,
) -> dict[str, Any]:
    """The planner's instance for the waiting list over [first_day, last_day] at one location.

    A fixed number of queries whatever the size of the practice. Raises InstanceError (the command's
    checks) if the result were not a valid instance.
    """
    policy = PracticePolicy.current()
    location = location or Location.objects.order_by("pk").first()
    lo, _ = local_day_bounds(first_day)
    _, hi = local_day_bounds(last_day)
    rooms = list(Room.objects.filter(active=True, location=location).order_by("pk"))
    therapists = list(
        User.objects.filter(is_active=True, role=Role.THERAPIST, therapist_profile__isnull=False)
        .select_related("therapist_profile")
        .order_by("pk")
    )
    genders = {t.pk: t.therapist_profile.gender for t in therapists}
    hours = _working_hours(therapists, location)
    busy = _busy(therapists, rooms, lo, hi)
    team = TEAM_RULES.get(TeamRule(policy.team_rule), "mixed_gender")
    cases = list(intensive_waiting_list())
    since = waiting_since(cases)
    unavailable = _couples_away(cases, lo, hi)
    instance: dict[str, Any] = {
        "timezone": str(practice_zone()),
        "horizon": {"first_day": first_day.isoformat(), "last_day": last_day.isoformat()},
        "policy": _policy_entry(policy, first_day, last_day, slot_starts, team),
        "therapists": [
            {
                "id": therapist_id(t.pk),
                "gender": genders[t.pk],
                "hours": hours.get(t.pk, {}),
                "busy": busy.get((ResourceKind.THERAPIST, t.pk), []),
            }
            for t in therapists
        ],
        "rooms": [
            {"id": room_id(r.pk), "accessible": r.accessible, "busy": busy.get((ResourceKind.ROOM, r.pk), [])}
            for r in rooms
        ],
        "couples": [
            {
                "id": couple_id(case.pk),
                "weight": weight_for(
                    since[case.pk].astimezone(practice_zone()).date() if case.pk in since else case.opened_on,
                    first_day,
                ),
                "earliest_start": first_day.isoformat(),
                "unavailable": [[d.isoformat(), d.isoformat()] for d in sorted(unavailable.get(case.pk, ()))],
                "excluded_therapists": _excluded(case, therapists, genders, team),
            }
            for case in cases
        ],
    }
    parse(instance)  # the same checks as the command: a malformed instance never reaches the solver
    return instance


def _working_hours(
    therapists: list[User], location: Location | None
) -> dict[int, dict[str, list[list[str]]]]:
    """Therapist → weekday → their working blocks at the location, as local "HH:MM" pairs."""
    hours: dict[int, dict[str, list[list[str]]]] = defaultdict(dict)
    for user_id, weekday, starts, ends in (
        WorkingHours.objects.filter(therapist__user__in=therapists, location=location)
        .order_by("therapist__user_id", "weekday", "starts")
        .values_list("therapist__user_id", "weekday", "starts", "ends")
    ):
        hours[user_id].setdefault(WEEKDAYS[weekday], []).append([_hhmm(starts), _hhmm(ends)])
    return hours


def _busy(
    therapists: list[User], rooms: list[Room], lo: dt.datetime, hi: dt.datetime
) -> dict[tuple[str, int], list[list[str]]]:
    """(resource kind, id) → busy periods within [lo, hi) as local times: bookings, and time off."""
    busy: dict[tuple[str, int], list[list[str]]] = defaultdict(list)
    held = Occupancy.objects.filter(
        Q(resource_kind=ResourceKind.THERAPIST, resource_id__in=[t.pk for t in therapists])
        | Q(resource_kind=ResourceKind.ROOM, resource_id__in=[r.pk for r in rooms]),
        starts_at__lt=hi,
        ends_at__gt=lo,
    ).order_by("starts_at", "pk")
    for kind, pk, starts_at, ends_at in held.values_list(
        "resource_kind", "resource_id", "starts_at", "ends_at"
    ):
        busy[(kind, pk)].append([_local(starts_at), _local(ends_at, up=True)])
    away = TimeOff.objects.filter(therapist__in=therapists, starts_at__lt=hi, ends_at__gt=lo).order_by(
        "starts_at", "pk"
    )
    for user_id, starts_at, ends_at in away.values_list("therapist_id", "starts_at", "ends_at"):
        # Clipped to the horizon: the instance only needs what falls inside it.
        busy[(ResourceKind.THERAPIST, user_id)].append(
            [_local(max(starts_at, lo)), _local(min(ends_at, hi), up=True)]
        )
    return busy


def _couples_away(cases: list[Case], lo: dt.datetime, hi: dt.datetime) -> dict[int, set[dt.date]]:
    """Case → the local days within [lo, hi) on which either partner already has an appointment."""
    partner_of: dict[int, int] = {}
    for case in cases:
        for client in case.partners:
            partner_of[client.pk] = case.pk
    unavailable: dict[int, set[dt.date]] = defaultdict(set)
    for pk, starts_at, ends_at in Occupancy.objects.filter(
        resource_kind=ResourceKind.CLIENT,
        resource_id__in=list(partner_of),
        starts_at__lt=hi,
        ends_at__gt=lo,
    ).values_list("resource_id", "starts_at", "ends_at"):
        unavailable[partner_of[pk]].update(_dates(starts_at, ends_at))
    return unavailable


def _policy_entry(
    policy: PracticePolicy, first_day: dt.date, last_day: dt.date, slot_starts: tuple[str, ...], team: str
) -> dict[str, Any]:
    clinic_days = WEEKDAYS[:5] if policy.intensive_weekdays_only else list(WEEKDAYS)
    closures = PracticeClosure.objects.filter(date__range=(first_day, last_day)).order_by("date")
    return {
        "block_days": policy.intensive_days,
        "clinic_days": clinic_days,
        "closures": [d.isoformat() for d in closures.values_list("date", flat=True)],
        "session_minutes": policy.intensive_minutes,
        "slot_starts": list(slot_starts),
        "team": team,
    }


# --- From an accepted block to bookings -----------------------------------------------------------
@dataclass(frozen=True)
class BlockStart:
    case_pk: int
    therapist_pks: tuple[int, ...]
    room_pk: int
    first_day: dt.date
    start_time: dt.time
    days: int
    minutes: int
    dates: tuple[dt.date, ...]


def read_block(block: dict[str, Any]) -> BlockStart:
    """The booking parameters of one plan block (sessions carry their UTC offset)."""
    zone = practice_zone()
    starts = [dt.datetime.fromisoformat(s["start"]).astimezone(zone) for s in block["sessions"]]
    ends = [dt.datetime.fromisoformat(s["end"]).astimezone(zone) for s in block["sessions"]]
    if not starts:
        raise InstanceError("a block without sessions")
    minutes = int((ends[0] - starts[0]).total_seconds() // 60)
    return BlockStart(
        case_pk=pk_of(block["couple"]),
        therapist_pks=tuple(pk_of(t) for t in block["therapists"]),
        room_pk=pk_of(block["room"]),
        first_day=starts[0].date(),
        start_time=starts[0].time().replace(tzinfo=None),
        days=len(starts),
        minutes=minutes,
        dates=tuple(s.date() for s in starts),
    )


def _team_for(actor: User, members: list[User]) -> CoTherapyTeam:
    a, b = members
    team = CoTherapyTeam.objects.filter(Q(first=a, second=b) | Q(first=b, second=a)).first()
    if team is not None and team.active:
        return team
    return team_form(actor=actor, first=a, second=b)


def book_block(*, actor: User, block: dict[str, Any]) -> AppointmentSeries:
    """Book one plan block through intensive_book: the whole block or nothing.

    When the plan gives the case a team it does not have yet, the team is formed (or re-activated) and
    assigned to the case in the same transaction, so a refused booking leaves the assignment as it was.
    Raises BookingError (or AccessDenied, or Refusal) with a message fit for the coordinator.
    """
    spec = read_block(block)
    with transaction.atomic():
        case = Case.objects.with_people().locked().get(pk=spec.case_pk)
        if not intensive_waiting_list().filter(pk=case.pk).exists():
            raise BookingInvalid(
                f"Case {case.reference} is no longer waiting for an intensive "
                "(a block was booked, the plan changed or the case closed since the run)."
            )
        users = {u.pk: u for u in User.objects.filter(pk__in=spec.therapist_pks)}
        members = [users[pk] for pk in spec.therapist_pks]
        room = Room.objects.select_related("location").get(pk=spec.room_pk)
        team: CoTherapyTeam | None = None
        therapist: User | None = None
        if len(members) == 2:
            current = {case.team.first_id, case.team.second_id} if case.team is not None else set()
            team = case.team if case.team is not None and current == set(spec.therapist_pks) else None
            team = team or _team_for(actor, members)
            if case.team_id != team.pk:
                case_update(
                    actor=actor,
                    case=case,
                    therapist=None,
                    team=team,
                    absent_partner=case.absent_partner,
                    absent_partner_note=case.absent_partner_note,
                )
        else:
            (therapist,) = members
            if case.therapist_id is None and case.team_id is None:
                case_update(
                    actor=actor,
                    case=case,
                    therapist=therapist,
                    team=None,
                    absent_partner=case.absent_partner,
                    absent_partner_note=case.absent_partner_note,
                )
        series = intensive_book(
            actor=actor,
            case=case,
            room=room,
            first_day=spec.first_day,
            start_time=spec.start_time,
            team=team,
            therapist=therapist,
            days=spec.days,
            minutes=spec.minutes,
        )
        booked = tuple(
            a.starts_at.astimezone(practice_zone()).date() for a in series.appointments.order_by("starts_at")
        )
        if booked != spec.dates:
            # The clinic's closures changed since the run: the block would no longer be the one proposed.
            raise BookingInvalid(
                "The practice's closures changed since the plan was made: the block's days differ. "
                "Start a new run."
            )
    return series
