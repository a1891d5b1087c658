"""Booking, moving and cancelling appointments: the only code that writes appointments and occupancy.

Each service is one transaction holding the overlap check, the appointment rows, their occupancy rows
(one per therapist, room and client for the half-open period) and the audit event. On PostgreSQL the
exclusion constraint on occupancy is the guarantee: when two transactions race past the check, the
second insert fails and is answered with the clash. On SQLite every write transaction takes the write
lock at BEGIN (IMMEDIATE), so the check inside the transaction cannot race at all.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from tandem.access.services import AccessDenied, can_edit_case
from tandem.accounts.models import CLINICAL_ROLES, CoTherapyTeam, Gender, Role, User, WorkingHours
from tandem.audit.services import audit_record
from tandem.cases.models import OPEN_PHASES, Case, Client
from tandem.lib.time import practice_zone
from tandem.measures.later import measures_schedule_later
from tandem.practice.models import PracticeClosure, PracticePolicy, Room, TeamRule
from tandem.scheduling.models import (
    LONGEST_APPOINTMENT,
    Appointment,
    AppointmentChange,
    AppointmentKind,
    AppointmentSeries,
    AppointmentStatus,
    AppointmentType,
    ChangeKind,
    Mode,
    Occupancy,
    ResourceKind,
    SeriesKind,
    TimeOff,
)

# The most appointments one series call may write (two a week for a year).
MAX_SERIES = 104
MAX_SERIES_SPAN = dt.timedelta(days=366)
MAX_INTENSIVE_DAYS = 31
# SQLSTATEs of a lost race on PostgreSQL: the exclusion constraint fired, or two bookings waiting on
# each other's rows were broken up by the deadlock detector. Either way another booking won.
_RACE_SQLSTATES = {"23P01", "40P01"}
_RACE_MESSAGE = "Another booking for the same time was made at the same moment. Please try again."
# A client booking a free consultation online must leave the practice this much time to prepare.
CONSULTATION_NOTICE = dt.timedelta(hours=2)


class BookingError(Exception):
    """A booking was refused; the message is fit to show to the person booking."""


class BookingInvalid(BookingError):
    """The request itself is wrong (bad times, wrong people, closed day): nothing was written."""


class BookingConflict(BookingError):
    """A therapist, room or client is already taken for (part of) the period asked for."""


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()

Resource = tuple[str, int]
Period = tuple[dt.datetime, dt.datetime]
T = TypeVar("T")


@dataclass
class _Claim:
    """What one call wants to hold: filled in before inserting, read again to name a lost race."""

    resources: list[Resource] = field(default_factory=list)
    labels: dict[Resource, str] = field(default_factory=dict)
    periods: list[Period] = field(default_factory=list)
    exclude_appointment: int | None = None

    def hold(self, kind: str, pk: int, label: str) -> None:
        key = (kind, pk)
        if key not in self.labels:
            self.resources.append(key)
            self.labels[key] = label


# --- Checks ---------------------------------------------------------------------------------------
def _check_actor(actor: Any, case: Case) -> None:
    if not getattr(actor, "is_practice_staff", False) or not can_edit_case(actor, case):
        raise AccessDenied("You cannot book appointments for this case.")


def _check_case_open(case: Case) -> None:
    if case.phase not in OPEN_PHASES:
        raise BookingInvalid(f"Case {case.reference} is closed: it cannot be booked.")


def _check_period(starts_at: dt.datetime, ends_at: dt.datetime, *, now: dt.datetime) -> None:
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise BookingInvalid("Give the start and end with their UTC offset.")
    if ends_at <= starts_at:
        raise BookingInvalid("An appointment must end after it starts.")
    if ends_at - starts_at > LONGEST_APPOINTMENT:
        raise BookingInvalid("An appointment cannot last longer than 12 hours.")
    if starts_at < now:
        raise BookingInvalid("An appointment cannot start in the past.")


def _check_kind_mode(kind: str, mode: str) -> None:
    if kind not in AppointmentKind.values:
        raise BookingInvalid(f"Unknown appointment type {kind!r}.")
    if mode not in Mode.values:
        raise BookingInvalid(f"Unknown mode {mode!r}: use in_person, phone or video.")


def _check_room(mode: str, room: Room | None) -> None:
    if mode == Mode.IN_PERSON and room is None:
        raise BookingInvalid("An in-person appointment needs a room.")
    if mode != Mode.IN_PERSON and room is not None:
        raise BookingInvalid("A phone or video appointment takes no room.")
    if room is not None and not room.active:
        raise BookingInvalid(f"{room.name} is no longer in use.")


def _check_therapists(case: Case, therapists: Sequence[User]) -> list[User]:
    unique = list({t.pk: t for t in therapists}.values())
    if not unique:
        raise BookingInvalid("Choose at least one therapist.")
    if len(unique) > 2:
        raise BookingInvalid("An appointment has one or two therapists.")
    for therapist in unique:
        if not therapist.is_active or therapist.role not in CLINICAL_ROLES:
            raise BookingInvalid(f"{therapist} is not an active therapist.")
    # A case's sessions are held by its own clinicians; a consultation before assignment by anyone.
    assigned = {user.pk for user in case.clinicians}
    for therapist in unique:
        if assigned and therapist.pk not in assigned:
            raise BookingInvalid(f"{therapist} is not assigned to this case: change the assignment first.")
    return unique


def _check_clients(case: Case, clients: Sequence[Client] | None) -> list[Client]:
    if clients is None:
        return case.partners
    partner_ids = {c.pk for c in case.partners}
    unique = list({c.pk: c for c in clients}.values())
    if not unique:
        raise BookingInvalid("An appointment needs at least one client.")
    if any(c.pk not in partner_ids for c in unique):
        raise BookingInvalid("Only the partners in this case can attend its appointments.")
    return unique


def check_team_rule(members: Sequence[User], policy: PracticePolicy | None = None) -> None:
    """Raise BookingInvalid unless these therapists may work as a team under the practice's rule."""
    policy = policy or PracticePolicy.current()
    if len(members) == 1:
        if policy.team_rule != TeamRule.SINGLE_ALLOWED:
            raise BookingInvalid("The practice's team rule requires two therapists.")
        return
    if len(members) != 2 or members[0].pk == members[1].pk:
        raise BookingInvalid("A team is two different therapists.")
    if policy.team_rule == TeamRule.MIXED_GENDER:
        genders = {_gender(member) for member in members}
        if genders != {Gender.FEMALE, Gender.MALE}:
            raise BookingInvalid(
                f"The practice's team rule asks for one female and one male therapist: "
                f"{members[0]} and {members[1]} are not."
            )


def _gender(user: User) -> str:
    profile = getattr(user, "therapist_profile", None)
    return profile.gender if profile is not None else ""


def _closures(first: dt.date, last: dt.date) -> dict[dt.date, str]:
    return dict(PracticeClosure.objects.filter(date__range=(first, last)).values_list("date", "reason"))


def _check_no_self_overlap(periods: list[Period]) -> None:
    ordered = sorted(periods)
    for (_, end), (start, _) in itertools.pairwise(ordered):
        if start < end:
            raise BookingInvalid("The appointments asked for overlap each other.")


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise BookingInvalid("Give a reason.")
    return reason


def _check_type(kind: str, mode: str, starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    """The clinic's settings for the kind: modes it may be held in, and its longest length."""
    kind_type = AppointmentType.for_kind(kind)
    if mode not in kind_type.modes:
        allowed = " or ".join(Mode(m).label.lower() for m in kind_type.modes) or "no mode"
        raise BookingInvalid(f"A {kind_type.get_kind_display().lower()} is held {allowed}.")
    longest = _longest_minutes(kind_type)
    if ends_at - starts_at > dt.timedelta(minutes=longest):
        raise BookingInvalid(f"A {kind_type.get_kind_display().lower()} lasts at most {longest} minutes.")


def _longest_minutes(kind_type: AppointmentType) -> int:
    if kind_type.kind == AppointmentKind.INTENSIVE:
        return min(kind_type.max_minutes, PracticePolicy.current().intensive_minutes)
    return kind_type.max_minutes


def default_minutes(kind: str) -> int:
    """How long an appointment of this kind lasts when no end is given."""
    kind_type = AppointmentType.for_kind(kind)
    return min(kind_type.default_minutes, _longest_minutes(kind_type))


def _end_or_default(kind: str, starts_at: dt.datetime, ends_at: dt.datetime | None) -> dt.datetime:
    if ends_at is not None:
        return ends_at
    if kind not in AppointmentKind.values:
        raise BookingInvalid(f"Unknown appointment type {kind!r}.")
    return starts_at + dt.timedelta(minutes=default_minutes(kind))


def _long_day(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def check_rules(therapists: Sequence[User], periods: Sequence[Period], *, room: Room | None = None) -> None:
    """Raise BookingInvalid unless every therapist works (and is not away) for every period, and the
    practice is open on each day. Three queries whatever the number of periods.

    Working hours are wall-clock times on the practice's local day; a period must fit inside one block
    of the therapist's hours (at the room's location when there is a room).
    """
    if not periods:
        return
    zone = practice_zone()
    ordered = sorted(periods)
    first = timezone.localdate(ordered[0][0], zone)
    last = timezone.localdate(ordered[-1][1], zone)
    closed = _closures(first, last)
    for start, _ in ordered:
        day = timezone.localdate(start, zone)
        if day in closed:
            raise BookingInvalid(f"The practice is closed on {_day(day)} ({closed[day]}).")
    ids = [t.pk for t in therapists]
    blocks: dict[tuple[int, int], list[tuple[dt.time, dt.time, int]]] = {}
    for user_id, weekday, starts, ends, location_id in WorkingHours.objects.filter(
        therapist__user_id__in=ids
    ).values_list("therapist__user_id", "weekday", "starts", "ends", "location_id"):
        blocks.setdefault((user_id, weekday), []).append((starts, ends, location_id))
    away: dict[int, list[Period]] = {}
    for user_id, off_start, off_end in TimeOff.objects.filter(
        therapist_id__in=ids, starts_at__lt=ordered[-1][1], ends_at__gt=ordered[0][0]
    ).values_list("therapist_id", "starts_at", "ends_at"):
        away.setdefault(user_id, []).append((off_start, off_end))
    for start, end in ordered:
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        day = local_start.date()
        for therapist in therapists:
            fitting = [
                location
                for begin, finish, location in blocks.get((therapist.pk, day.weekday()), [])
                if local_end.date() == day and begin <= local_start.time() and local_end.time() <= finish
            ]
            if not fitting or (room is not None and room.location_id not in fitting):
                # Working then, but elsewhere: name the room's location, so the mismatch is plain.
                where = f" at {room.location}" if fitting and room is not None else ""
                raise BookingInvalid(
                    f"{therapist} does not work{where} on {_long_day(day)} at {local_start:%H:%M}."
                )
            for off_start, off_end in away.get(therapist.pk, []):
                if off_start < end and start < off_end:
                    raise BookingInvalid(f"{therapist} is on leave on {_when(off_start, off_end)}.")


# --- Local time -----------------------------------------------------------------------------------
def local_start(day: dt.date, at: dt.time) -> dt.datetime:
    """The instant `at` o'clock on local `day` in the practice zone, as UTC (DST-correct)."""
    zone = practice_zone()
    wall = dt.datetime.combine(day, at, tzinfo=zone)
    instant = wall.astimezone(dt.UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
        raise BookingInvalid(f"{at:%H:%M} does not exist on {_day(day)} (the clocks go forward).")
    return instant


def _day(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%B %Y}"


def _when(starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    zone = practice_zone()
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    year = f" {start.year}" if start.year != timezone.localdate(timezone.now(), zone).year else ""
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end.day} {end:%B} {end:%H:%M}"
    return f"{start:%a} {start.day} {start:%B}{year} {start:%H:%M}–{end_text}"  # noqa: RUF001


def clinic_days(
    first_day: dt.date, count: int, *, weekdays_only: bool, closed: Collection[dt.date] | None = None
) -> list[dt.date]:
    """`count` consecutive clinic days from `first_day`: closures (and weekends, if so) are skipped.

    `closed` spares the query when the caller has loaded the closures already (availability search).
    """
    if closed is None:
        closed = set(_closures(first_day, first_day + dt.timedelta(days=count * 3 + 60)))
    days: list[dt.date] = []
    day = first_day
    while len(days) < count:
        if day not in closed and not (weekdays_only and day.weekday() >= 5):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


# --- Clashes --------------------------------------------------------------------------------------
_KIND_ORDER: dict[str, int] = {ResourceKind.THERAPIST: 0, ResourceKind.ROOM: 1, ResourceKind.CLIENT: 2}


def _clash_message(label: str, kind: str, starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    when = _when(starts_at, ends_at)
    if kind == ResourceKind.ROOM:
        return f"{label} is taken on {when} by another appointment."
    if kind == ResourceKind.THERAPIST:
        return f"{label} already has a session on {when}."
    return f"{label} already has an appointment on {when}."


def find_clash(claim: _Claim) -> str | None:
    """The first clash of what `claim` wants with occupancy already written, named plainly; or None.

    Only the resource and the time are named, never the other appointment's case or clients: the person
    booking may not be allowed to see them.
    """
    if not claim.resources or not claim.periods:
        return None
    wanted = Q()
    for kind in ResourceKind.values:
        ids = [pk for k, pk in claim.resources if k == kind]
        if ids:
            wanted |= Q(resource_kind=kind, resource_id__in=ids)
    lo = min(start for start, _ in claim.periods)
    hi = max(end for _, end in claim.periods)
    rows = Occupancy.objects.filter(wanted, starts_at__lt=hi, ends_at__gt=lo)
    if claim.exclude_appointment is not None:
        rows = rows.exclude(appointment_id=claim.exclude_appointment)
    found: list[tuple[dt.datetime, int, str, str, dt.datetime, dt.datetime]] = []
    periods = sorted(claim.periods)
    for kind, pk, starts_at, ends_at in rows.values_list(
        "resource_kind", "resource_id", "starts_at", "ends_at"
    ):
        for start, end in periods:
            if starts_at < end and ends_at > start:
                found.append((start, _KIND_ORDER[kind], kind, claim.labels[(kind, pk)], starts_at, ends_at))
                break
    if not found:
        return None
    _, _, kind, label, starts_at, ends_at = min(found)
    return _clash_message(label, kind, starts_at, ends_at)


def _is_race(exc: Exception) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) in _RACE_SQLSTATES


def _guarded(work: Callable[[_Claim], T]) -> T:
    """Run `work` in one transaction; a lost race on PostgreSQL becomes a BookingConflict naming the clash."""
    claim = _Claim()
    try:
        with transaction.atomic():
            return work(claim)
    except (IntegrityError, OperationalError) as exc:
        if not _is_race(exc):
            raise
        # The transaction (or savepoint) is rolled back; the booking that won is committed and visible.
        raise BookingConflict(find_clash(claim) or _RACE_MESSAGE) from exc


def _claim_people(
    claim: _Claim, therapists: Iterable[User], room: Room | None, clients: Iterable[Client]
) -> None:
    for therapist in therapists:
        claim.hold(ResourceKind.THERAPIST, therapist.pk, str(therapist))
    if room is not None:
        claim.hold(ResourceKind.ROOM, room.pk, room.name)
    for client in clients:
        claim.hold(ResourceKind.CLIENT, client.pk, client.full_name)


def _occupy(claim: _Claim, appointments: Sequence[Appointment]) -> None:
    # A fixed order (resource, then time) for every booking keeps two racing blocks from deadlocking.
    rows = sorted(
        (
            Occupancy(
                appointment=appointment,
                resource_kind=kind,
                resource_id=pk,
                starts_at=appointment.starts_at,
                ends_at=appointment.ends_at,
            )
            for appointment in appointments
            for kind, pk in claim.resources
        ),
        key=lambda o: (o.resource_kind, o.resource_id, o.starts_at),
    )
    Occupancy.objects.bulk_create(rows)


def _write(
    claim: _Claim,
    *,
    case: Case,
    kind: str,
    mode: str,
    room: Room | None,
    therapists: Sequence[User],
    series: AppointmentSeries | None = None,
) -> list[Appointment]:
    """Check the claim against what is held, then write the appointments and their occupancy."""
    clash = find_clash(claim)
    if clash is not None:
        raise BookingConflict(clash)
    appointments = Appointment.objects.bulk_create(
        Appointment(case=case, kind=kind, mode=mode, starts_at=start, ends_at=end, room=room, series=series)
        for start, end in sorted(claim.periods)
    )
    through = Appointment.therapists.through
    through.objects.bulk_create(
        through(appointment_id=appointment.pk, user_id=therapist.pk)
        for appointment in appointments
        for therapist in therapists
    )
    _occupy(claim, appointments)
    measures_schedule_later(case_id=case.pk)
    return appointments


# --- Booking --------------------------------------------------------------------------------------
def appointment_book(
    *,
    actor: User,
    case: Case,
    kind: str,
    starts_at: dt.datetime,
    therapists: Sequence[User],
    ends_at: dt.datetime | None = None,
    room: Room | None = None,
    mode: str = Mode.IN_PERSON,
    clients: Sequence[Client] | None = None,
) -> Appointment:
    """Book one appointment for the case's partners (or the `clients` named) with one or two therapists.

    Without `ends_at` the appointment lasts the kind's default length.
    """
    _check_actor(actor, case)
    _check_case_open(case)
    _check_kind_mode(kind, mode)
    ends_at = _end_or_default(kind, starts_at, ends_at)
    _check_period(starts_at, ends_at, now=timezone.now())
    _check_type(kind, mode, starts_at, ends_at)
    _check_room(mode, room)
    people = _check_therapists(case, therapists)
    attending = _check_clients(case, clients)
    check_rules(people, [(starts_at, ends_at)], room=room)

    def work(claim: _Claim) -> Appointment:
        _claim_people(claim, people, room, attending)
        claim.periods = [(starts_at, ends_at)]
        (appointment,) = _write(claim, case=case, kind=kind, mode=mode, room=room, therapists=people)
        audit_record(
            actor=actor,
            action="appointment.book",
            target=appointment,
            case=case,
            detail={"kind": kind, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
        )
        return appointment

    return _guarded(work)


def consultation_offered_by(therapist: User) -> bool:
    profile = getattr(therapist, "therapist_profile", None)
    return (
        therapist.is_active
        and therapist.role in CLINICAL_ROLES
        and profile is not None
        and profile.offers_consultation
    )


def consultation_slot_aligned(therapist: User, starts_at: dt.datetime, minutes: int) -> bool:
    """Whether `starts_at` is where consultation_slots puts a slot: a whole number of slot lengths from
    the start of one of the therapist's working blocks that day (so bookings stay back to back)."""
    local = starts_at.astimezone(practice_zone())
    wall = local.hour * 60 + local.minute
    if local.second or local.microsecond:
        return False
    for starts in WorkingHours.objects.filter(therapist__user=therapist, weekday=local.weekday()).values_list(
        "starts", flat=True
    ):
        offset = wall - (starts.hour * 60 + starts.minute)
        if offset >= 0 and offset % minutes == 0:
            return True
    return False


def consultation_book(*, case: Case, therapist: User, starts_at: dt.datetime, mode: str) -> Appointment:
    """Book a free consultation from the public site: a system booking (no staff actor), by phone or
    video, of the default length, only in a slot that consultation_slots offers.

    Every rule is checked again here (the slot list the client saw may be minutes old), and the
    occupancy rows go through the same transaction and constraint as every other booking.
    """
    kind = AppointmentKind.CONSULTATION
    _check_case_open(case)
    if mode not in (Mode.PHONE, Mode.VIDEO) or mode not in AppointmentType.for_kind(kind).modes:
        raise BookingInvalid("Choose a phone or video consultation.")
    if timezone.is_naive(starts_at):
        raise BookingInvalid("Give the start with its UTC offset.")
    minutes = default_minutes(kind)
    ends_at = starts_at + dt.timedelta(minutes=minutes)
    now = timezone.now()
    if starts_at < now + CONSULTATION_NOTICE:
        raise BookingInvalid("That time is too soon: choose a consultation at least two hours ahead.")
    if not consultation_offered_by(therapist):
        raise BookingInvalid(f"{therapist} does not offer free consultations.")
    people = _check_therapists(case, [therapist])
    check_rules(people, [(starts_at, ends_at)])
    if not consultation_slot_aligned(therapist, starts_at, minutes):
        raise BookingInvalid("That time is not one of the consultation slots offered.")

    def work(claim: _Claim) -> Appointment:
        _claim_people(claim, people, None, case.partners)
        claim.periods = [(starts_at, ends_at)]
        (appointment,) = _write(claim, case=case, kind=kind, mode=mode, room=None, therapists=people)
        audit_record(
            actor=None,
            action="appointment.book_consultation",
            target=appointment,
            case=case,
            detail={"mode": mode, "starts_at": starts_at.isoformat(), "therapist": therapist.pk},
        )
        return appointment

    return _guarded(work)


def series_book(
    *,
    actor: User,
    case: Case,
    kind: str,
    therapists: Sequence[User],
    first_day: dt.date,
    start_time: dt.time,
    weekdays: Sequence[int],
    minutes: int | None = None,
    until: dt.date | None = None,
    count: int | None = None,
    room: Room | None = None,
    mode: str = Mode.IN_PERSON,
) -> AppointmentSeries:
    """A standard-format series: once or twice a week on the chosen weekdays (0 = Monday), until a last
    day or a number of sessions, at the same local time. Closure days are skipped. Whole or nothing."""
    _check_actor(actor, case)
    _check_case_open(case)
    _check_kind_mode(kind, mode)
    _check_room(mode, room)
    people = _check_therapists(case, therapists)
    days = _series_days(first_day, weekdays, until=until, count=count)
    length = dt.timedelta(minutes=default_minutes(kind) if minutes is None else minutes)
    periods = [(start, start + length) for start in (local_start(day, start_time) for day in days)]
    now = timezone.now()
    for start, end in periods:
        _check_period(start, end, now=now)
    _check_type(kind, mode, periods[0][0], periods[0][1])
    check_rules(people, periods, room=room)
    return _book_block(
        actor=actor,
        case=case,
        kind=kind,
        mode=mode,
        room=room,
        therapists=people,
        periods=periods,
        series_kind=SeriesKind.SERIES,
        action="series.book",
    )


def _series_days(
    first_day: dt.date, weekdays: Sequence[int], *, until: dt.date | None, count: int | None
) -> list[dt.date]:
    chosen = set(weekdays)
    if not 1 <= len(chosen) <= 2 or not chosen <= set(range(7)):
        raise BookingInvalid("Choose one or two weekdays (0 = Monday … 6 = Sunday).")
    if (until is None) == (count is None):
        raise BookingInvalid("Give either a last day or a number of sessions.")
    if count is not None and not 1 <= count <= MAX_SERIES:
        raise BookingInvalid(f"A series has between 1 and {MAX_SERIES} sessions.")
    last = until if until is not None else first_day + MAX_SERIES_SPAN
    if last < first_day or last - first_day > MAX_SERIES_SPAN:
        raise BookingInvalid("A series ends on or after its first day, and within a year.")
    closed = _closures(first_day, last)
    days: list[dt.date] = []
    day = first_day
    while day <= last and (count is None or len(days) < count):
        if day.weekday() in chosen and day not in closed:
            days.append(day)
        day += dt.timedelta(days=1)
    if not days:
        raise BookingInvalid("No clinic day falls within that series.")
    if count is not None and len(days) < count:
        raise BookingInvalid(f"Only {len(days)} sessions fit within a year.")
    return days


def intensive_book(
    *,
    actor: User,
    case: Case,
    room: Room,
    first_day: dt.date,
    start_time: dt.time,
    team: CoTherapyTeam | None = None,
    therapist: User | None = None,
    days: int | None = None,
    minutes: int | None = None,
) -> AppointmentSeries:
    """An intensive block: `days` consecutive clinic days from `first_day` at the same local time, with
    the same team (or, where the rule allows, one therapist) and room. Whole or nothing."""
    _check_actor(actor, case)
    _check_case_open(case)
    policy = PracticePolicy.current()
    days = policy.intensive_days if days is None else days
    minutes = policy.intensive_minutes if minutes is None else minutes
    if not 1 <= days <= MAX_INTENSIVE_DAYS:
        raise BookingInvalid(f"An intensive block lasts between 1 and {MAX_INTENSIVE_DAYS} days.")
    if not 1 <= minutes <= policy.intensive_minutes:
        raise BookingInvalid(f"An intensive day lasts at most {policy.intensive_minutes} minutes.")
    if (team is None) == (therapist is None):
        raise BookingInvalid("Book an intensive with a co-therapy team or (where allowed) one therapist.")
    if team is not None and not team.active:
        raise BookingInvalid("That co-therapy team is no longer active.")
    members = list(team.members) if team is not None else [therapist] if therapist is not None else []
    check_team_rule(members, policy)
    _check_room(Mode.IN_PERSON, room)
    people = _check_therapists(case, members)
    dates = clinic_days(first_day, days, weekdays_only=policy.intensive_weekdays_only)
    if dates[0] != first_day:
        raise BookingInvalid(f"{_day(first_day)} is not a clinic day: start the block on a clinic day.")
    length = dt.timedelta(minutes=minutes)
    periods = [(start, start + length) for start in (local_start(day, start_time) for day in dates)]
    now = timezone.now()
    for start, end in periods:
        _check_period(start, end, now=now)
    check_rules(people, periods, room=room)
    return _book_block(
        actor=actor,
        case=case,
        kind=AppointmentKind.INTENSIVE,
        mode=Mode.IN_PERSON,
        room=room,
        therapists=people,
        periods=periods,
        series_kind=SeriesKind.INTENSIVE,
        action="intensive.book",
    )


def _book_block(
    *,
    actor: User,
    case: Case,
    kind: str,
    mode: str,
    room: Room | None,
    therapists: Sequence[User],
    periods: list[Period],
    series_kind: str,
    action: str,
) -> AppointmentSeries:
    _check_no_self_overlap(periods)

    def work(claim: _Claim) -> AppointmentSeries:
        _claim_people(claim, therapists, room, case.partners)
        claim.periods = periods
        series = AppointmentSeries.objects.create(case=case, kind=series_kind, created_by=actor)
        appointments = _write(
            claim, case=case, kind=kind, mode=mode, room=room, therapists=therapists, series=series
        )
        audit_record(
            actor=actor,
            action=action,
            target=series,
            case=case,
            detail={
                "appointments": [a.pk for a in appointments],
                "first": periods[0][0].isoformat(),
                "last": periods[-1][0].isoformat(),
            },
        )
        return series

    return _guarded(work)


# --- Moving and cancelling ------------------------------------------------------------------------
def _locked(appointment: Appointment) -> Appointment:
    locked = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("case", "room")
        .get(pk=appointment.pk)
    )
    if locked.status != AppointmentStatus.BOOKED:
        raise BookingInvalid(f"This appointment is {locked.get_status_display().lower()}: it cannot change.")
    return locked


def _held_by(appointment: Appointment, claim: _Claim, room: Room | None) -> None:
    """Claim again what the appointment holds now, with `room` in place of its room."""
    held = list(appointment.occupancies.values_list("resource_kind", "resource_id"))
    user_ids = [pk for kind, pk in held if kind == ResourceKind.THERAPIST]
    client_ids = [pk for kind, pk in held if kind == ResourceKind.CLIENT]
    _claim_people(
        claim,
        User.objects.filter(pk__in=user_ids).order_by("pk"),
        room,
        Client.objects.filter(pk__in=client_ids).order_by("pk"),
    )


def appointment_move(
    *,
    actor: User,
    appointment: Appointment,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str,
    room: Room | None = UNCHANGED,
) -> Appointment:
    """Move a booked appointment (and, if given, to another room), keeping who moved it, when and why."""
    _check_actor(actor, appointment.case)
    reason = _reason(reason)
    _check_period(starts_at, ends_at, now=timezone.now())

    def work(claim: _Claim) -> Appointment:
        current = _locked(appointment)
        new_room = current.room if room is UNCHANGED else room
        _check_room(current.mode, new_room)
        if current.kind == AppointmentKind.INTENSIVE:
            policy = PracticePolicy.current()
            if ends_at - starts_at > dt.timedelta(minutes=policy.intensive_minutes):
                raise BookingInvalid(f"An intensive day lasts at most {policy.intensive_minutes} minutes.")
        _check_type(current.kind, current.mode, starts_at, ends_at)
        check_rules(list(current.therapists.order_by("pk")), [(starts_at, ends_at)], room=new_room)
        _held_by(current, claim, new_room)
        claim.periods = [(starts_at, ends_at)]
        claim.exclude_appointment = current.pk
        clash = find_clash(claim)
        if clash is not None:
            raise BookingConflict(clash)
        change = AppointmentChange(
            appointment=current,
            kind=ChangeKind.MOVED,
            at=timezone.now(),
            by=actor,
            reason=reason,
            old_starts_at=current.starts_at,
            old_ends_at=current.ends_at,
            old_room=current.room,
            new_starts_at=starts_at,
            new_ends_at=ends_at,
            new_room=new_room,
        )
        current.occupancies.all().delete()
        current.starts_at, current.ends_at, current.room = starts_at, ends_at, new_room
        current.save(update_fields=["starts_at", "ends_at", "room"])
        measures_schedule_later(case_id=current.case_id)
        _occupy(claim, [current])
        change.save()
        audit_record(
            actor=actor,
            action="appointment.move",
            target=current,
            case=current.case,
            detail={
                "from": change.old_starts_at.isoformat(),
                "to": starts_at.isoformat(),
                "room": new_room.pk if new_room else None,
            },
        )
        return current

    return _guarded(work)


def appointment_cancel(
    *, actor: User, appointment: Appointment, reason: str, now: dt.datetime | None = None
) -> Appointment:
    """Cancel a booked appointment: it keeps its row and history, and releases its time at once.

    A cancellation closer to the start than the practice's notice period is flagged as late.
    """
    _check_actor(actor, appointment.case)
    return _cancel(
        appointment,
        by=actor,
        reason=reason,
        now=now,
        started="This appointment has already started: record attendance instead.",
    )


def consultation_cancel(
    *, appointment: Appointment, reason: str, now: dt.datetime | None = None
) -> Appointment:
    """The visitor cancels their free consultation with their signed link: a system path (no staff
    actor) that still keeps the change history and frees the slot in one transaction."""
    if appointment.kind != AppointmentKind.CONSULTATION:
        raise BookingInvalid("Only a free consultation can be cancelled from the public site.")
    return _cancel(
        appointment, by=None, reason=reason, now=now, started="This consultation has already started."
    )


def _cancel(
    appointment: Appointment, *, by: User | None, reason: str, now: dt.datetime | None, started: str
) -> Appointment:
    """Cancel under a row lock, free the time, keep the change (by nobody: the client's own link)."""
    reason = _reason(reason)
    now = now or timezone.now()
    notice = dt.timedelta(hours=PracticePolicy.current().late_cancel_hours)
    with transaction.atomic():
        current = _locked(appointment)
        if current.starts_at <= now:
            raise BookingInvalid(started)
        late = current.starts_at - now < notice
        current.status = AppointmentStatus.CANCELLED
        current.save(update_fields=["status"])
        current.occupancies.all().delete()
        AppointmentChange.objects.create(
            appointment=current,
            kind=ChangeKind.CANCELLED,
            at=now,
            by=by,
            reason=reason,
            late=late,
            old_starts_at=current.starts_at,
            old_ends_at=current.ends_at,
            old_room=current.room,
        )
        detail = {"late": late, "starts_at": current.starts_at.isoformat()}
        if by is None:
            detail["by"] = "client link"
        audit_record(actor=by, action="appointment.cancel", target=current, case=current.case, detail=detail)
        measures_schedule_later(case_id=current.case_id)
    return current


# --- Teams ----------------------------------------------------------------------------------------
def team_form(*, actor: User, first: User, second: User) -> CoTherapyTeam:
    """Form (or re-activate) a co-therapy team; the practice's team rule must hold."""
    if not actor.is_active or actor.role not in (Role.DIRECTOR, Role.COORDINATOR):
        raise AccessDenied("Only the clinical director or the coordinator forms co-therapy teams.")
    for member in (first, second):
        if not member.is_active or member.role != Role.THERAPIST:
            raise BookingInvalid(f"{member} is not an active therapist.")
    check_team_rule([first, second])
    with transaction.atomic():
        team = CoTherapyTeam.objects.filter(
            Q(first=first, second=second) | Q(first=second, second=first)
        ).first()
        if team is not None and team.active:
            raise BookingInvalid(f"{first} and {second} are already a team.")
        if team is None:
            team = CoTherapyTeam.objects.create(first=first, second=second)
        else:
            team.active = True
            team.save(update_fields=["active"])
        audit_record(actor=actor, action="team.form", target=team, detail={"members": [first.pk, second.pk]})
    return team


# --- Attendance -----------------------------------------------------------------------------------
ATTENDANCE_STATUSES = (AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW)
MAX_ATTENDANCE_NOTE = 1000


def may_record_attendance(user: Any, case: Case, therapist_ids: Collection[int]) -> bool:
    """Whether `user` may say if a session of `case` took place: the front desk and the director (as
    for booking), the case's own therapists, and whoever held this session (`therapist_ids`), who may
    no longer be assigned to the case (a consultation before assignment, a change of team)."""
    if not getattr(user, "is_practice_staff", False) or not user.is_active:
        return False
    return user.pk in therapist_ids or can_edit_case(user, case)


def appointment_record_attendance(
    *,
    actor: User,
    appointment: Appointment,
    status: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> Appointment:
    """Record that a session took place or that the client did not come, once it has started.

    A recorded status may be corrected (a click on the wrong button): every record, the first and each
    correction, is an AppointmentChange row with the status before and after, so history is kept.
    Recording the status it already has changes nothing. A missed session keeps its occupancy: the
    time was held, and freeing it after the fact would only let a booking slip into the past.
    """
    if status not in ATTENDANCE_STATUSES:
        raise BookingInvalid("Record either that the session took place or that nobody came.")
    therapist_ids = set(appointment.therapists.values_list("pk", flat=True))
    if not may_record_attendance(actor, appointment.case, therapist_ids):
        raise AccessDenied("You cannot record attendance for this appointment.")
    note = note.strip()
    if len(note) > MAX_ATTENDANCE_NOTE:
        raise BookingInvalid(f"Keep the note under {MAX_ATTENDANCE_NOTE} characters.")
    now = now or timezone.now()
    with transaction.atomic():
        current = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("case", "room")
            .get(pk=appointment.pk)
        )
        if current.status == AppointmentStatus.CANCELLED:
            raise BookingInvalid("This appointment was cancelled: there is no attendance to record.")
        if current.starts_at > now:
            raise BookingInvalid("This appointment has not started yet: record attendance once it has.")
        if current.status == status:
            return current
        before = current.status
        current.status = status
        current.save(update_fields=["status"])
        AppointmentChange.objects.create(
            appointment=current,
            kind=ChangeKind.ATTENDANCE,
            at=now,
            by=actor,
            reason=note,
            old_starts_at=current.starts_at,
            old_ends_at=current.ends_at,
            old_room=current.room,
            old_status=before,
            new_status=status,
        )
        audit_record(
            actor=actor,
            action="appointment.attendance",
            target=current,
            case=current.case,
            detail={"from": before, "to": status, "correction": before != AppointmentStatus.BOOKED},
        )
        measures_schedule_later(case_id=current.case_id)
    return current
